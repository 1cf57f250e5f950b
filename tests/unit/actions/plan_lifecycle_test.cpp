// No decision dropped, no plan lost: the runner's hooks for it (dry runs take no lock, the
// progress journal, resuming after completed steps, interruption) with a fake coordinator,
// the journal file itself, and the daemon's PlanKeeper (deferral, its bound, the hold on an
// interrupted plan, a stop that lets the plan finish).

#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hftguard/actions/plan_journal.hpp"
#include "hftguard/actions/runner.hpp"
#include "hftguard/alerts/policy.hpp"
#include "hftguard/config/loader.hpp"
#include "hftguard/decide/decider.hpp"
#include "hftguard/net/http_client.hpp"
#include "hftguard/net/worker_pool.hpp"

#include "../../../src/cli/plan_keeper.hpp"

using namespace hftguard;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Grants or refuses as the test says, and counts what it was asked and what it holds.
class FakeCoordinator final : public coord::Coordinator {
 public:
  struct FakeLease final : coord::Lease {
    FakeLease(int& held, std::function<void()>& on_release)
        : held_(held), on_release_(on_release) {
      ++held_;
    }
    ~FakeLease() override {
      --held_;
      if (on_release_) on_release_();
    }
    int& held_;
    std::function<void()>& on_release_;
  };
  std::string name() const override { return "fake"; }
  std::unique_ptr<coord::Lease> acquire(const std::string&, coord::Grant& grant) override {
    ++asked;
    if (refuse) {
      grant = {false, {}, "held by an operator's hftguard failover"};
      return nullptr;
    }
    grant = {true, "fake-" + std::to_string(asked), "fake: granted"};
    return std::make_unique<FakeLease>(held, on_release);
  }
  bool refuse = false;
  int asked = 0;
  int held = 0;
  std::function<void()> on_release;
};

struct Recorded {
  std::string type;
  std::string component;
  std::string reason;
  nlohmann::json fields;
};

class PlanLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hftguard-lifecycle-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    loopUntil([&] { return !runner_ || runner_->idle(); });  // no journal job left in flight
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  void load(const std::string& steps, const std::string& rto = "10s",
            const std::string& more = "") {
    auto r = config::loadConfigString(
        "node: {name: n1}\nplans:\n  p:\n    steps:\n" + steps +
            "components:\n  c: {tier: hot, rto_target: " + rto + more +
            ", plan: p, checks: {t: {type: tcp, host: 127.0.0.1, port: 1, fall: 1}}}\n",
        "lifecycle.yaml");
    for (const auto& e : r.errors) ADD_FAILURE() << e.format();
    cfg_ = r.config;
    decider_ = std::make_unique<decide::Decider>(*cfg_);
    auto rec = [this](const std::string& type, const std::string& component,
                      const std::string& reason, nlohmann::json f) {
      events_.push_back({type, component, reason, f});
    };
    runner_ = std::make_unique<actions::FailoverRunner>(env_, coordinator_, rec);
    keeper_ = std::make_unique<cli::PlanKeeper>(io_, clock_, *cfg_, *runner_, coordinator_,
                                                *decider_, dir_.string(), rec);
  }

  actions::RunRequest request(bool dry_run = false) {
    actions::RunRequest r;
    r.component = "c";
    r.plan = cfg_->findPlan("p");
    r.dry_run = dry_run;
    r.rto_target = cfg_->findComponent("c")->rto_target;
    r.trigger = "trigger-1";
    r.context = {"c", "n1", "old-host", "new-host", {}, {}, "test"};
    return r;
  }

  actions::RunReport run(actions::RunRequest r) {
    std::optional<actions::RunReport> report;
    EXPECT_TRUE(runner_->start(r, [&](const actions::RunReport& rep) { report = rep; }));
    loopUntil([&] { return report.has_value(); });
    return report.value_or(actions::RunReport{});
  }

  // Runs a plan to its end and holds it in its tidy-up: the returned callback lets it go.
  // `report` (optional) receives its report then.
  actions::RunRequest::Written runToTidyUp(std::optional<actions::RunReport>* report = nullptr) {
    actions::RunRequest::Written release;
    auto r = request();
    r.tidy = [&](actions::RunRequest::Written written) { release = std::move(written); };
    EXPECT_TRUE(runner_->start(r, [report](const actions::RunReport& rep) {
      if (report != nullptr) *report = rep;
    }));
    EXPECT_TRUE(loopUntil([&] { return static_cast<bool>(release); }));
    return release;
  }

  // Occupies `disk`'s one thread, as a disk that does not answer; the promise frees it.
  static void stall(net::WorkerPool& disk, std::promise<void>& until) {
    disk.submit([f = until.get_future().share()] {
      f.wait();
      return net::WorkerPool::Continuation();
    });
  }

  // Turns the loop until `done`, for at most 5 s.
  bool loopUntil(const std::function<bool()>& done) {
    const auto end = std::chrono::steady_clock::now() + 5s;
    while (!done() && std::chrono::steady_clock::now() < end) {
      if (io_.stopped()) io_.restart();
      io_.run_one_for(20ms);
    }
    return done();
  }

  std::size_t count(const std::string& type) const {
    std::size_t n = 0;
    for (const auto& e : events_) n += e.type == type;
    return n;
  }
  const Recorded* find(const std::string& type) const {
    for (const auto& e : events_) {
      if (e.type == type) return &e;
    }
    return nullptr;
  }

  fs::path dir_;
  boost::asio::io_context io_;
  SystemClock clock_;
  net::HttpClient http_{io_};
  net::WorkerPool workers_{io_, 1};
  actions::ActionEnv env_{io_, http_, workers_, clock_};
  FakeCoordinator coordinator_;
  std::shared_ptr<const config::Config> cfg_;
  std::unique_ptr<decide::Decider> decider_;
  std::unique_ptr<actions::FailoverRunner> runner_;
  std::unique_ptr<cli::PlanKeeper> keeper_;
  std::vector<Recorded> events_;
};

const std::string kTwoSteps =
    "      - {name: a, action: exec, argv: [/bin/true]}\n"
    "      - {name: b, action: exec, argv: [/bin/true]}\n";

TEST_F(PlanLifecycleTest, ADryRunTakesNoLock) {
  load(kTwoSteps);
  coordinator_.refuse = true;  // a real plan holds the component
  auto report = run(request(true));
  EXPECT_TRUE(report.ok) << report.reason;
  EXPECT_EQ(coordinator_.asked, 0);
}

TEST_F(PlanLifecycleTest, ProgressIsJournaledBeforeEachStepIsReportedDone) {
  load(kTwoSteps);
  std::vector<std::pair<std::size_t, std::string>> seen;
  std::vector<std::size_t> doneBefore;  // step_done events recorded when each call came
  auto r = request();
  r.progress = [&](std::size_t n, const std::string& last, const actions::PlanContext& ctx,
                   actions::RunRequest::Kept kept) {
    seen.emplace_back(n, last);
    doneBefore.push_back(count("step_done"));
    EXPECT_EQ(ctx.new_primary, "new-host");
    EXPECT_TRUE(ctx.fencing_token.starts_with("fake-"));
    boost::asio::post(io_, [kept] { kept(""); });  // kept later, on the loop: the run waits
  };
  EXPECT_TRUE(run(r).ok);
  EXPECT_EQ(seen, (std::vector<std::pair<std::size_t, std::string>>{{0, ""}, {1, "a"}, {2, "b"}}));
  EXPECT_EQ(doneBefore, (std::vector<std::size_t>{0, 0, 1}));
  EXPECT_EQ(coordinator_.held, 0);
}

// A journal that must be kept elsewhere (etcd) and was refused: this daemon no longer leads.
// The run stops there - interrupted, resumable - and no later step runs.
TEST_F(PlanLifecycleTest, AProgressThatWasNotKeptStopsThePlan) {
  const std::string second = (dir_ / "second").string();
  load("      - {name: a, action: exec, argv: [/bin/true]}\n"
       "      - {name: b, action: exec, argv: [/usr/bin/touch, '" + second + "']}\n");
  auto r = request();
  r.progress = [&](std::size_t n, const std::string&, const actions::PlanContext&,
                   actions::RunRequest::Kept kept) {
    boost::asio::post(io_, [kept, n] { kept(n == 1 ? "etcd: the compare failed" : ""); });
  };
  const auto report = run(r);
  EXPECT_FALSE(report.ok);
  EXPECT_TRUE(report.interrupted);
  EXPECT_FALSE(fs::exists(second)) << "a step ran after its progress was refused";
  ASSERT_NE(find("failover_interrupted"), nullptr);
  EXPECT_NE(find("failover_interrupted")->reason.find("step 1's work was done; its progress was "
                                                       "not recorded"),
            std::string::npos)
      << find("failover_interrupted")->reason;
  EXPECT_EQ(count("failover_completed") + count("failover_failed"), 0u);
  EXPECT_EQ(coordinator_.held, 0);
  EXPECT_TRUE(runner_->idle());
}

TEST_F(PlanLifecycleTest, AResumedRunStartsAfterItsCompletedSteps) {
  const std::string first = (dir_ / "first").string(), second = (dir_ / "second").string();
  load("      - {name: a, action: exec, argv: [/usr/bin/touch, '" + first + "']}\n" +
       "      - {name: b, action: exec, argv: [/usr/bin/touch, '" + second + "']}\n");
  auto r = request();
  r.first_step = 1;
  EXPECT_TRUE(run(r).ok);
  EXPECT_FALSE(fs::exists(first));  // step a was done before the interruption: not again
  EXPECT_TRUE(fs::exists(second));
  EXPECT_EQ(find("failover_started")->fields["resumed_after"], 1);
  EXPECT_EQ(count("step_started"), 1u);
}

TEST_F(PlanLifecycleTest, InterruptStopsThePlanWhereItStands) {
  load(
      "      - {name: a, action: exec, argv: [/bin/true]}\n"
      "      - {name: slow, action: exec, argv: [/bin/sleep, '5'], timeout: 10s}\n");
  std::optional<actions::RunReport> report;
  ASSERT_TRUE(runner_->start(request(), [&](const actions::RunReport& r) { report = r; }));
  ASSERT_TRUE(loopUntil([&] { return count("step_started") == 2; }));
  runner_->interrupt("stop timeout");
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->interrupted);
  const Recorded* e = find("failover_interrupted");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->fields["steps_done"], 1);
  EXPECT_EQ(e->fields["last_step"], "a");
  EXPECT_EQ(coordinator_.held, 0);
  EXPECT_TRUE(runner_->idle());
  EXPECT_EQ(count("failover_failed") + count("failover_completed"), 0u);
}

TEST_F(PlanLifecycleTest, TheJournalIsPrivateAtomicAndRemoved) {
  actions::PlanJournal j{
      "c", "p", "t1", "old", "new", "tok", "why", "2026-11-26T00:00:00.000Z", 3, "promote", 42};
  std::string why;
  ASSERT_TRUE(actions::writeJournal(dir_.string(), j, &why)) << why;
  struct stat st {};
  ASSERT_EQ(::stat(actions::journalPath(dir_.string(), "c").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = actions::readJournal(dir_.string(), "c", &why);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->steps_done, 3u);
  EXPECT_EQ(back->last_step, "promote");
  EXPECT_EQ(back->fencing_token, "tok");
  std::size_t files = 0;
  for (const auto& f : fs::directory_iterator(dir_)) files += f.is_regular_file();
  EXPECT_EQ(files, 1u);  // no temporary left behind
  EXPECT_TRUE(actions::removeJournal(dir_.string(), "c", &why));
  EXPECT_FALSE(actions::readJournal(dir_.string(), "c", &why));
  EXPECT_TRUE(why.empty());
  std::ofstream(actions::journalPath(dir_.string(), "c")) << "{half";
  EXPECT_FALSE(actions::readJournal(dir_.string(), "c", &why));
  EXPECT_FALSE(why.empty());  // unreadable is not absent
}

TEST_F(PlanLifecycleTest, APlanThatCannotStartIsDeferredAndRunsWhenTheLockFrees) {
  load(kTwoSteps);
  coordinator_.refuse = true;
  keeper_->start(request());
  ASSERT_EQ(count("failover_deferred"), 1u);
  EXPECT_EQ(count("failover_skipped"), 0u);
  EXPECT_EQ(count("failover_started"), 0u);
  loopUntil([&] { return coordinator_.asked >= 3; });  // retried while held
  coordinator_.refuse = false;
  ASSERT_TRUE(loopUntil([&] { return count("failover_completed") == 1; }));
  EXPECT_EQ(find("failover_started")->fields["trigger"], "trigger-1");
  EXPECT_TRUE(loopUntil([&] { return !actions::readJournal(dir_.string(), "c"); }))
      << "the journal was not removed at the end";
}

// Every step ran (the standby is promoted) but the roles could not be moved: the journal
// stays - a leader that takes it up has only the commit left to do - and the component is
// held, never failed over again from the top by this daemon.
TEST_F(PlanLifecycleTest, APlanWhoseRolesCannotBeMovedKeepsItsJournalAndHoldsTheComponent) {
  load(kTwoSteps);
  auto r = request();
  int commits = 0;
  r.commit = [&](const actions::PlanContext&, actions::RunRequest::Committed committed) {
    ++commits;
    committed("etcd: HTTP 503: leader changed", nlohmann::json::object());
  };
  keeper_->start(std::move(r));
  ASSERT_TRUE(loopUntil([&] { return count("failover_completed") == 1 && runner_->idle(); }));
  EXPECT_EQ(commits, 1);
  const Recorded* done = find("failover_completed");
  EXPECT_EQ(done->fields["roles_error"], "etcd: HTTP 503: leader changed");
  EXPECT_NE(done->reason.find("roles NOT moved"), std::string::npos) << done->reason;
  auto j = actions::readJournal(dir_.string(), "c");
  ASSERT_TRUE(j.has_value()) << "the journal went although the roles were never moved";
  EXPECT_EQ(j->steps_done, 2u);
  EXPECT_TRUE(keeper_->held("c"));
  EXPECT_EQ(count("failover_interrupted"), 1u);
  keeper_->start(request());  // the component fails again: not run from the top
  for (int i = 0; i < 20; ++i) io_.run_one_for(10ms);
  EXPECT_EQ(count("failover_started"), 1u);
}

TEST_F(PlanLifecycleTest, ADeferredPlanThatNeverStartsFailsAndPages) {
  load(kTwoSteps, "300ms");
  coordinator_.refuse = true;
  keeper_->start(request());
  ASSERT_TRUE(loopUntil([&] { return count("failover_failed") == 1; }));
  const Recorded* e = find("failover_failed");
  EXPECT_TRUE(e->fields["deferred"].get<bool>());
  EXPECT_NE(e->reason.find("could not start within 300ms"), std::string::npos) << e->reason;
  alerts::AlertPolicy policy(1min);
  events::Event ev;
  ev.type = e->type;
  ev.component = "c";
  ev.fields = e->fields;
  ev.id = "1";
  auto alerts = policy.onEvent(ev);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].severity, config::Severity::Critical);
}

TEST_F(PlanLifecycleTest, AJournalFoundAtStartUpHoldsAutomationUntilItIsGone) {
  load(kTwoSteps);
  actions::PlanJournal j{"c", "p", "t1", "old", "new", "tok", "why", "2026-11-26T00:00:00.000Z",
                         1,   "a", 42};
  ASSERT_TRUE(actions::writeJournal(dir_.string(), j));
  keeper_->recoverInterrupted();
  const Recorded* e = find("failover_interrupted");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->fields["steps_done"], 1);
  EXPECT_EQ(e->fields["last_step"], "a");
  EXPECT_NE(e->reason.find("--resume"), std::string::npos);
  EXPECT_TRUE(keeper_->held("c"));
  EXPECT_EQ(coordinator_.held, 0);
  // Failures are recorded and suppressed, never failed over.
  probes::ProbeResult ok, bad;
  ok.component = bad.component = "c";
  ok.check = bad.check = "t";
  ok.status = probes::ProbeStatus::Ok;
  bad.status = probes::ProbeStatus::Failed;
  const auto t0 = SteadyTime{} + 1h;
  decider_->observe(ok, t0);  // healthy after `rise` (2) passes, as from any start-up
  decider_->observe(ok, t0 + 500ms);
  bool suppressed = false;
  for (int i = 1; i <= 3; ++i) {
    for (const auto& d : decider_->observe(bad, t0 + i * 1s)) {
      EXPECT_NE(d.kind, decide::Decision::Kind::FailoverTriggered);
      suppressed |=
          d.kind == decide::Decision::Kind::FailoverSuppressed && d.suppressed_by == "interrupted";
    }
  }
  EXPECT_TRUE(suppressed);
  keeper_->tick();
  EXPECT_TRUE(keeper_->held("c"));
  ASSERT_TRUE(actions::removeJournal(dir_.string(), "c"));  // resumed or abandoned
  keeper_->tick();
  EXPECT_FALSE(keeper_->held("c"));
}

TEST_F(PlanLifecycleTest, AJournalWhoseLockIsHeldBelongsToALivePlan) {
  load(kTwoSteps);
  actions::PlanJournal j{"c", "p", "t1", "", "", "", "", "", 0, "", 42};
  ASSERT_TRUE(actions::writeJournal(dir_.string(), j));
  coordinator_.refuse = true;  // an operator's hftguard failover runs it right now
  keeper_->recoverInterrupted();
  EXPECT_EQ(count("failover_interrupted"), 0u);
  EXPECT_FALSE(keeper_->held("c"));
}

TEST_F(PlanLifecycleTest, StoppingLetsTheRunningPlanFinish) {
  load("      - {name: slow, action: exec, argv: [/bin/sleep, '0.3']}\n");
  keeper_->start(request());
  ASSERT_EQ(count("failover_started"), 1u);
  std::optional<std::string> outcome;
  keeper_->stop(Duration::zero(), [&](const std::string& o) { outcome = o; });
  EXPECT_FALSE(outcome);
  ASSERT_TRUE(loopUntil([&] { return outcome.has_value(); }));
  EXPECT_EQ(count("failover_completed"), 1u);
  EXPECT_EQ(count("failover_interrupted"), 0u);
  EXPECT_NE(outcome->find("ended"), std::string::npos) << *outcome;
}

TEST_F(PlanLifecycleTest, StoppingInterruptsAPlanThatOutlivesTheStopTimeout) {
  load("      - {name: slow, action: exec, argv: [/bin/sleep, '5'], timeout: 10s}\n");
  keeper_->start(request());
  std::optional<std::string> outcome;
  keeper_->stop(200ms, [&](const std::string& o) { outcome = o; });
  ASSERT_TRUE(loopUntil([&] { return outcome.has_value(); }));
  EXPECT_EQ(count("failover_interrupted"), 1u);
  EXPECT_EQ(count("failover_completed") + count("failover_failed"), 0u);
  EXPECT_NE(outcome->find("interrupted"), std::string::npos) << *outcome;
  auto j = actions::readJournal(dir_.string(), "c");  // kept: the next start-up holds on it
  ASSERT_TRUE(j);
  EXPECT_EQ(j->steps_done, 0u);
}

// systemd's SIGKILL must not come before the daemon's own stop timeout has recorded the
// plan as interrupted.
TEST(SystemdUnit, TheStopTimeoutFitsInsideTimeoutStopSec) {
  std::ifstream in(std::string(HFTGUARD_SOURCE_DIR) + "/systemd/hftguard.service");
  std::string line;
  std::optional<Duration> stop, systemd;
  while (std::getline(in, line)) {
    if (auto at = line.find("--stop-timeout ");
        line.starts_with("ExecStart=") && at != std::string::npos) {
      stop = parseDuration(line.substr(at + 15, line.find(' ', at + 15) - at - 15));
    }
    if (line.starts_with("TimeoutStopSec=")) systemd = parseDuration(line.substr(15));
  }
  ASSERT_TRUE(stop && systemd);
  EXPECT_GT(*stop, Duration::zero());
  EXPECT_GE(*systemd - *stop, 5s);
}

TEST(PlanBudget, EveryAttemptAndBackoffCounts) {
  auto r = config::loadConfigString(
      "node: {name: n1}\nplans:\n  p:\n    steps:\n"
      "      - {name: a, action: exec, argv: [/bin/true], timeout: 2s, retries: 2, backoff: 1s}\n"
      "      - {name: b, action: exec, argv: [/bin/true], timeout: 5s}\n"
      "components:\n  c: {tier: hot, rto_target: 10s, plan: p, checks: {t: {type: tcp, "
      "host: 127.0.0.1, port: 1}}}\n",
      "budget.yaml");
  ASSERT_TRUE(r.config);
  // a: 3 attempts of 2 s + 1 s + 2 s of backoff; b: 5 s.
  EXPECT_EQ(cli::planBudget(*r.config->findPlan("p")), 14s);
}

}  // namespace

namespace {

// Review fixes: what a resumed plan must remember, and deferred plans that must not run.

TEST_F(PlanLifecycleTest, TheJournalKeepsTheEvidenceLaterStepsRelyOn) {
  actions::PlanJournal j{"c", "p",     "t1", "old", "new", "tok", "why", "2026-11-26T00:00:00.000Z",
                         2,   "fence", 42};
  j.fence_failed = true;
  j.switched = true;
  j.self_fenced = "h1 holds no lease in etcd";
  ASSERT_TRUE(actions::writeJournal(dir_.string(), j));
  auto back = actions::readJournal(dir_.string(), "c");
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->fence_failed) << "a resumed plan would promote past a failed fence";
  EXPECT_EQ(back->self_fenced, "h1 holds no lease in etcd")
      << "a leader taking the plan up would lose the evidence its fence counts on";
  EXPECT_FALSE(back->old_primary_fenced);
  EXPECT_TRUE(back->switched) << "a resumed follow would ask Sentinel for a second failover";
  // Well-formed JSON with a field of the wrong type is unreadable, never an exception.
  std::ofstream(actions::journalPath(dir_.string(), "c"))
      << R"({"steps_done": 1, "pid": "x", "plan": 7})";
  std::string why;
  EXPECT_NO_THROW(EXPECT_FALSE(actions::readJournal(dir_.string(), "c", &why)));
  EXPECT_NE(why.find("not a plan journal"), std::string::npos) << why;
}

TEST_F(PlanLifecycleTest, ASecondTriggerWhileItsOwnPlanRunsIsSkippedNotDeferred) {
  load(
      "      - {name: slow, action: exec, argv: [/bin/sleep, '1'], timeout: 5s}\n"
      "      - {name: b, action: exec, argv: [/bin/true]}\n");
  keeper_->start(request());
  ASSERT_TRUE(loopUntil([&] { return count("step_started") == 1; }));
  keeper_->start(request());  // e.g. the Sentinel switch the running plan itself caused
  EXPECT_EQ(count("failover_deferred"), 0u);
  EXPECT_EQ(count("failover_skipped"), 1u);
  ASSERT_TRUE(loopUntil([&] { return count("failover_completed") == 1; }));
  const auto until = std::chrono::steady_clock::now() + 400ms;  // nothing else may start
  loopUntil([&] { return std::chrono::steady_clock::now() > until; });
  EXPECT_EQ(count("failover_started"), 1u) << "the plan ran twice";
}

// An operator's dry run (a switchover's, POST /failover's) or a switchover's checks change
// nothing: a real failover decided while one runs waits for it, never skipped as "this
// daemon's plan runs" (the decider would not decide it again).
TEST_F(PlanLifecycleTest, AFailoverDecidedDuringADryRunOrChecksWaitsAndThenRuns) {
  load(
      "      - {name: slow, action: exec, argv: [/bin/sleep, '1'], timeout: 5s}\n"
      "      - {name: b, action: exec, argv: [/bin/true]}\n");
  for (const bool dry : {true, false}) {
    auto soft = request();
    soft.dry_run = dry;
    if (!dry) soft.kind = "switchover_checks";
    bool ended = false;
    std::string why;
    ASSERT_TRUE(keeper_->startNow(soft, [&](const actions::RunReport&) { ended = true; }, &why))
        << why;
    if (!dry) {
      ASSERT_TRUE(loopUntil([&] { return count("step_started") >= 1; }));
    }
    auto real = [&] {
      std::size_t n = 0;
      for (const auto& e : events_) {
        n += e.type == "failover_completed" && !e.fields.value("dry_run", false);
      }
      return n;
    };
    const auto real_before = real();
    keeper_->start(request());  // the primary really failed meanwhile
    EXPECT_EQ(count("failover_skipped"), 0u) << (dry ? "dry run" : "checks");
    ASSERT_TRUE(loopUntil([&] { return ended; }));
    ASSERT_TRUE(loopUntil([&] { return real() == real_before + 1; }))
        << "the deferred failover never ran after the " << (dry ? "dry run" : "checks");
    ASSERT_TRUE(loopUntil([&] { return !keeper_->held("c") && keeper_->busyWith().empty(); }));
  }
}

TEST_F(PlanLifecycleTest, APlanWhoseRolesMovedIsSkippedNeverDeferredIntoAFalsePage) {
  load(kTwoSteps);
  auto moved = request();
  moved.admit = [] { return std::string("the roles moved since this failover was decided"); };
  keeper_->start(moved);  // refused at once: skipped, not deferred
  EXPECT_EQ(count("failover_deferred"), 0u);
  ASSERT_EQ(count("failover_skipped"), 1u);
  EXPECT_TRUE(find("failover_skipped")->fields.value("roles_moved", false));
  // Deferred first (the lock was held), then refused for the roles when it could start.
  coordinator_.refuse = true;
  keeper_->start(moved);
  ASSERT_EQ(count("failover_deferred"), 1u);
  coordinator_.refuse = false;
  ASSERT_TRUE(loopUntil([&] { return count("failover_skipped") == 2; }));
  const auto until = std::chrono::steady_clock::now() + 300ms;
  loopUntil([&] { return std::chrono::steady_clock::now() > until; });
  EXPECT_EQ(count("failover_failed"), 0u) << "a deferred plan whose roles moved paged";
  EXPECT_EQ(count("failover_started"), 0u);
}

TEST_F(PlanLifecycleTest, ADeferredPlanOvertakenByAnotherProcesssPlanIsNotRunAgain) {
  load(kTwoSteps);
  coordinator_.refuse = true;  // an operator's hftguard failover holds the lock...
  keeper_->start(request());
  ASSERT_EQ(count("failover_deferred"), 1u);
  actions::PlanJournal j{"c", "p", "op", "old", "new", "tok", "manual", "", 1, "a", 4242};
  ASSERT_TRUE(actions::writeJournal(dir_.string(), j));         // ...and its plan is under way
  const auto until = std::chrono::steady_clock::now() + 300ms;  // a few retries pass
  loopUntil([&] { return std::chrono::steady_clock::now() > until; });
  ASSERT_TRUE(actions::removeJournal(dir_.string(), "c"));  // it ended
  coordinator_.refuse = false;
  ASSERT_TRUE(loopUntil([&] { return count("failover_skipped") == 1; }));
  EXPECT_EQ(count("failover_started"), 0u) << "ran the plan again from the top after the "
                                              "operator's failover";
  EXPECT_NE(find("failover_skipped")->reason.find("another process"), std::string::npos);
}

// The journal is read before the lock is held; what it said is checked again once it is.
TEST_F(PlanLifecycleTest, AJournalUnderAFreeLockIsNeverRunFromTheTop) {
  load(kTwoSteps);
  actions::PlanJournal j{"c", "p", "op", "old", "new", "tok", "manual", "t0", 1, "a", 4242};
  ASSERT_TRUE(actions::writeJournal(dir_.string(), j));  // its owner was killed mid-plan
  keeper_->start(request());
  const auto until = std::chrono::steady_clock::now() + 300ms;  // a few retries pass
  loopUntil([&] { return std::chrono::steady_clock::now() > until; });
  EXPECT_EQ(count("failover_started"), 0u) << "ran an interrupted plan again from the top";
  EXPECT_EQ(coordinator_.held, 0) << "the lock was kept after the refusal";
  ASSERT_NE(find("failover_deferred"), nullptr);
  EXPECT_NE(find("failover_deferred")->reason.find("interrupted"), std::string::npos);
}

TEST_F(PlanLifecycleTest, AResumeIsAdmittedOnlyWhileItsJournalIsTheOneItRead) {
  load(kTwoSteps);
  actions::PlanJournal j{"c", "p", "op", "old", "new", "tok", "manual", "t0", 1, "a", 4242};
  ASSERT_TRUE(actions::writeJournal(dir_.string(), j));
  auto resume = [&] {
    auto r = request();
    r.first_step = 1;
    r.admit = cli::admitSameJournal(dir_.string(), j);
    std::string refused;
    const bool started = runner_->start(r, [](const actions::RunReport&) {}, &refused);
    loopUntil([&] { return runner_->idle(); });
    return started ? std::string() : refused;
  };
  // Another --resume moved it on while this one waited for the lock.
  actions::PlanJournal moved = j;
  moved.steps_done = 2;
  moved.last_step = "b";
  ASSERT_TRUE(actions::writeJournal(dir_.string(), moved));
  EXPECT_NE(resume().find("moved on"), std::string::npos);
  // ...or finished it, or an --abandon dropped it.
  ASSERT_TRUE(actions::removeJournal(dir_.string(), "c"));
  EXPECT_NE(resume().find("resumed or abandoned"), std::string::npos);
  EXPECT_EQ(count("failover_started"), 0u) << "a stale --resume ran steps a second time";
  EXPECT_EQ(coordinator_.held, 0);
  // Unchanged: it runs.
  ASSERT_TRUE(actions::writeJournal(dir_.string(), j));
  EXPECT_EQ(resume(), "");
  EXPECT_EQ(count("failover_started"), 1u);
}

}  // namespace

namespace {

// The journal is written on the disk thread; the run hears back on the loop. Before, each
// write (write, fsync, rename, directory fsync) held the loop and every probe on it.
TEST_F(PlanLifecycleTest, TheJournalIsWrittenOffTheLoop) {
  load(kTwoSteps);
  net::WorkerPool disk(io_, 1);
  std::promise<void> stalled;  // a disk that does not answer yet
  stall(disk, stalled);
  auto r = request();
  auto write = cli::journalTo(dir_.string(), r, disk);
  const auto loop = std::this_thread::get_id();
  std::optional<std::thread::id> heard;
  r.context.timestamp = "t0";
  write(1, "a", r.context, [&](const std::string&) { heard = std::this_thread::get_id(); });
  EXPECT_FALSE(actions::readJournal(dir_.string(), "c"))
      << "the journal was written by the caller while the disk thread was stalled";
  EXPECT_FALSE(heard);
  stalled.set_value();
  ASSERT_TRUE(loopUntil([&] { return heard.has_value(); }));
  EXPECT_EQ(*heard, loop) << "the run must hear back on its loop";
  auto back = actions::readJournal(dir_.string(), "c");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->steps_done, 1u);
  // A later write is renamed into place before the run hears back, and synced after.
  heard.reset();
  write(2, "b", r.context, [&](const std::string&) { heard = std::this_thread::get_id(); });
  ASSERT_TRUE(loopUntil([&] { return heard.has_value(); }));
  back = actions::readJournal(dir_.string(), "c");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->steps_done, 2u);
  EXPECT_EQ(back->last_step, "b");
}

// A step that failed for good is journaled as failed before failover_failed is recorded (a
// daemon that finds the journal left behind holds it, never resumes it). When that write is
// refused - this daemon no longer leads - the plan is interrupted, not failed: the next
// leader re-verifies the step.
TEST_F(PlanLifecycleTest, AFailureIsJournaledBeforeItIsRecorded) {
  load("      - {name: a, action: exec, argv: [/bin/true]}\n"
       "      - {name: b, action: exec, argv: [/bin/false]}\n");
  for (const bool refused : {false, true}) {
    events_.clear();
    std::vector<std::string> failing;
    std::size_t failedBefore = 0;
    auto r = request();
    r.failing = [&, refused](const std::string& step, const std::string& why,
                             const actions::PlanContext&, actions::RunRequest::Kept kept) {
      failing.push_back(step + ": " + why);
      failedBefore = count("failover_failed");
      boost::asio::post(io_, [kept, refused] { kept(refused ? "the compare failed" : ""); });
    };
    const auto report = run(r);
    ASSERT_EQ(failing.size(), 1u);
    EXPECT_TRUE(failing[0].starts_with("b: ")) << failing[0];
    EXPECT_EQ(failedBefore, 0u);
    EXPECT_FALSE(report.ok);
    EXPECT_EQ(report.interrupted, refused);
    EXPECT_EQ(report.failure_unrecorded, refused);  // the keeper holds it, never resumes it
    EXPECT_EQ(count("failover_failed"), refused ? 0u : 1u);
    EXPECT_EQ(count("failover_interrupted"), refused ? 1u : 0u);
    EXPECT_EQ(coordinator_.held, 0);
  }
}

// Interrupted (a second SIGTERM) while a journal write is queued: the lock is kept until that
// write lands, so no other process sees the journal change without the lock held.
TEST_F(PlanLifecycleTest, AnInterruptKeepsTheLockUntilAQueuedJournalWriteLands) {
  load(kTwoSteps);
  std::vector<actions::RunRequest::Kept> queued;
  auto r = request();
  r.progress = [&](std::size_t, const std::string&, const actions::PlanContext&,
                   actions::RunRequest::Kept written) {
    queued.push_back(std::move(written));
  };
  std::optional<actions::RunReport> report;
  ASSERT_TRUE(runner_->start(r, [&](const actions::RunReport& rep) { report = rep; }));
  ASSERT_EQ(queued.size(), 1u);  // the first journal write, not yet done
  runner_->interrupt("test");
  ASSERT_TRUE(report && report->interrupted);
  EXPECT_EQ(coordinator_.held, 1) << "the lock was freed under a journal write still queued";
  EXPECT_EQ(find("failover_interrupted")->fields.value("journal_pending", false), true);
  queued.front()("");
  EXPECT_EQ(coordinator_.held, 0);
  EXPECT_EQ(count("step_started"), 0u) << "an interrupted run went on";
}

// Between the plan's end and its journal's removal the run still counts as running: a
// trigger then is this daemon's own plan, a stop waits for it.
TEST_F(PlanLifecycleTest, APlanTidyingItsJournalStillRuns) {
  load(kTwoSteps);
  std::optional<actions::RunReport> report;
  auto release = runToTidyUp(&report);
  ASSERT_TRUE(release);
  EXPECT_EQ(count("failover_completed"), 1u);
  EXPECT_TRUE(runner_->running("c")) << "idle while its journal and lock are still there";
  EXPECT_FALSE(runner_->idle());
  EXPECT_EQ(coordinator_.held, 1);
  EXPECT_FALSE(report);
  runner_->interrupt("a stop now must not interrupt a plan that has ended");
  EXPECT_EQ(count("failover_interrupted"), 0u);
  release();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok);
  EXPECT_EQ(coordinator_.held, 0);
  EXPECT_TRUE(runner_->idle());
}

// A new decision while the previous plan only tidies up is deferred, not dropped, and runs
// once the lock is let go (its journal is this daemon's own, not another process's).
TEST_F(PlanLifecycleTest, ADecisionWhileThePreviousPlanTidiesUpRunsAfterIt) {
  load(kTwoSteps);
  auto release = runToTidyUp();
  ASSERT_TRUE(release);
  // Its journal is still there while it tidies up: ours, not another process's.
  actions::PlanJournal j{"c", "p", "trigger-1", "old", "new", "tok", "r", "t0", 2, "b", 1};
  ASSERT_TRUE(actions::writeJournal(dir_.string(), j));
  keeper_->start(request());
  EXPECT_EQ(count("failover_skipped"), 0u) << "a new decision was dropped";
  ASSERT_EQ(count("failover_deferred"), 1u);
  const auto until = std::chrono::steady_clock::now() + 250ms;  // a few retries meanwhile
  loopUntil([&] { return std::chrono::steady_clock::now() > until; });
  ASSERT_TRUE(actions::removeJournal(dir_.string(), "c"));  // what its tidy-up does
  release();
  ASSERT_TRUE(loopUntil([&] { return count("failover_completed") == 2; }))
      << "the deferred decision never ran";
  EXPECT_EQ(count("failover_skipped"), 0u);
  EXPECT_TRUE(loopUntil([&] { return runner_->idle(); }));  // its own tidy-up done too
}

// ...but a Sentinel switch heard then is the echo of the one that plan followed: skipped.
TEST_F(PlanLifecycleTest, ASentinelEchoWhileThePreviousPlanTidiesUpIsSkipped) {
  load(kTwoSteps);
  auto release = runToTidyUp();
  ASSERT_TRUE(release);
  auto echo = request();
  echo.context.switched = true;
  keeper_->start(echo);
  EXPECT_EQ(count("failover_skipped"), 1u);
  EXPECT_EQ(count("failover_deferred"), 0u);
  release();
}

}  // namespace

namespace {

// The journal is removed on the disk thread, and the lock is held until it is gone: another
// process never sees a journal without its lock held, which would read as a plan that died.
TEST_F(PlanLifecycleTest, TheLockIsReleasedOnlyOnceTheJournalIsGone) {
  load(kTwoSteps);
  std::optional<bool> journalAtRelease;
  coordinator_.on_release = [&] {
    journalAtRelease = actions::readJournal(dir_.string(), "c").has_value();
  };
  keeper_->start(request());
  ASSERT_TRUE(loopUntil([&] { return journalAtRelease.has_value(); }));
  EXPECT_FALSE(*journalAtRelease) << "the lock was released with the journal still there";
  EXPECT_EQ(count("failover_completed"), 1u);
}

// ...and the removal itself is the disk thread's: a stalled disk holds the plan's lock, not
// the loop.
TEST_F(PlanLifecycleTest, TheJournalIsRemovedOffTheLoop) {
  load(kTwoSteps);
  actions::PlanJournal j{"c", "p", "t", "old", "new", "tok", "r", "t0", 2, "b", 1};
  ASSERT_TRUE(actions::writeJournal(dir_.string(), j));
  net::WorkerPool disk(io_, 1);
  std::promise<void> stalled;
  stall(disk, stalled);
  bool removed = false;
  cli::journalRemover(dir_.string(), "c", disk)([&] { removed = true; });
  EXPECT_TRUE(actions::readJournal(dir_.string(), "c")) << "removed by the caller, on the loop";
  stalled.set_value();
  ASSERT_TRUE(loopUntil([&] { return removed; }));
  EXPECT_FALSE(actions::readJournal(dir_.string(), "c"));
}

}  // namespace

namespace {

// With failover_retries (opt-in), only the component's own plan that failed at a step, from
// its first step, schedules a retry (failover_retry_scheduled): not a dry run, not a follow
// of a store's own switch (a fresh run would switch it again), not a resumed run (its first
// steps were another leader's), not while the component is not failed.
TEST_F(PlanLifecycleTest, AFailedPlanIsRetriedOnlyWhenItIsTheComponentsOwnRunFromTheTop) {
  load("      - {name: a, action: exec, argv: [/bin/true]}\n"
       "      - {name: b, action: exec, argv: [/nonexistent/promote]}\n",
       "10s", ", failover_retries: 2, failover_retry_backoff: 100ms");
  auto failed = [&](actions::RunRequest r) {
    const std::size_t before = count("failover_failed");
    keeper_->start(std::move(r));
    EXPECT_TRUE(loopUntil([&] { return count("failover_failed") > before && runner_->idle(); }));
    for (int i = 0; i < 10; ++i) io_.run_one_for(5ms);  // its end handled
  };
  failed(request());  // the component is not failed (no probe said so): nothing to retry
  EXPECT_EQ(count("failover_retry_scheduled"), 0u);
  for (bool ok : {true, true, false}) {  // rise 2, fall 1: healthy, then failed
    probes::ProbeResult p;
    p.component = "c";
    p.check = "t";
    p.status = ok ? probes::ProbeStatus::Ok : probes::ProbeStatus::Failed;
    p.reason = ok ? "fine" : "connection refused";
    p.at = clock_.wallNow();
    p.started = clock_.now();
    decider_->observe(p, clock_.now());
  }
  ASSERT_EQ(decider_->health("c"), decide::Health::Failed);
  auto followed = request();
  followed.context.switched = true;
  failed(std::move(followed));
  auto resumed = request();
  resumed.first_step = 1;
  failed(std::move(resumed));
  EXPECT_EQ(count("failover_retry_scheduled"), 0u);
  failed(request());
  ASSERT_EQ(count("failover_retry_scheduled"), 1u);
  const Recorded* e = find("failover_retry_scheduled");
  EXPECT_EQ(e->fields["attempt"], 1);
  EXPECT_EQ(e->fields["of"], 2);
  EXPECT_EQ(e->fields["failed_step"], "b");
  EXPECT_EQ(decider_->retriesUsed("c"), 1);
  EXPECT_FALSE(keeper_->held("c")) << "a failed plan's retry must not be held by its own journal";
  // The retry comes from the decider's tick once due: the same plan, from the top.
  std::vector<decide::Decision> due;
  ASSERT_TRUE(loopUntil([&] {
    if (due.empty()) due = decider_->tick(clock_.now(), clock_.wallNow());
    return !due.empty();
  }));
  EXPECT_EQ(due[0].kind, decide::Decision::Kind::FailoverTriggered);
  EXPECT_NE(due[0].reason.find("failed failover retried (1 of 2)"), std::string::npos)
      << due[0].reason;
}

}  // namespace

// The failover runner with local actions (exec of /bin/true, /bin/false, /bin/sleep): order,
// retries with backoff, on_failure, deadlines, one plan per component, placeholders.

#include "hftguard/actions/runner.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include "hftguard/config/loader.hpp"
#include "hftguard/config/schema.hpp"
#include "hftguard/decide/decider.hpp"
#include "hftguard/net/http_client.hpp"
#include "hftguard/net/worker_pool.hpp"

using namespace hftguard;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct Recorded {
  std::string type;
  std::string reason;
  nlohmann::json fields;
};

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hftguard-runner-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void load(const std::string& steps) {
    auto r = config::loadConfigString("node: {name: n1}\nplans:\n  p:\n    steps:\n" + steps +
                                          "components:\n  c: {tier: hot, rto_target: 10s, plan: p, "
                                          "checks: {t: {type: tcp, host: 127.0.0.1, port: 1}}}\n",
                                      "runner.yaml");
    for (const auto& e : r.errors) ADD_FAILURE() << e.format();
    cfg_ = r.config;
    coordinator_ = coord::makeLocalCoordinator(dir_.string());
    runner_ = std::make_unique<actions::FailoverRunner>(
        env_, *coordinator_,
        [this](const std::string& type, const std::string&, const std::string& reason,
               nlohmann::json f) {
          events_.push_back({type, reason, f});
        });
  }

  actions::RunReport run(bool dry_run = false, const decide::Decision* trigger = nullptr,
                         decltype(actions::RunRequest::commit) commit = {}) {
    std::optional<actions::RunReport> report;
    actions::RunRequest r;
    r.commit = std::move(commit);
    r.component = "c";
    r.plan = cfg_->findPlan("p");
    r.dry_run = dry_run;
    r.rto_target = 10s;
    if (trigger != nullptr) {  // as the daemon fills it from the decision
      r.first_failure = trigger->breach_started;
      if (!trigger->breach_from.empty()) r.rto_from = trigger->breach_from;
    }
    r.context = {"c", "n1", "old-host", "new-host", {}, {}, "test"};
    EXPECT_TRUE(runner_->start(r, [&](const actions::RunReport& rep) { report = rep; }));
    while (!report) {
      if (io_.stopped()) io_.restart();
      io_.run_one_for(20ms);
    }
    return *report;
  }

  std::vector<std::string> types() const {
    std::vector<std::string> out;
    for (const auto& e : events_) out.push_back(e.type);
    return out;
  }

  fs::path dir_;
  boost::asio::io_context io_;
  SystemClock clock_;
  net::HttpClient http_{io_};
  net::WorkerPool workers_{io_, 1};
  actions::ActionEnv env_{io_, http_, workers_, clock_};
  std::shared_ptr<const config::Config> cfg_;
  std::unique_ptr<coord::Coordinator> coordinator_;
  std::unique_ptr<actions::FailoverRunner> runner_;
  std::vector<Recorded> events_;
};

TEST(ActionKinds, EveryKindTheConfigAcceptsCanRun) {
  for (std::string_view kind : config::kindNames("action")) {
    EXPECT_TRUE(actions::runnable(kind)) << kind;
  }
}

TEST_F(RunnerTest, RunsStepsInOrderAndRecordsEach) {
  load(
      "      - {name: a, action: exec, argv: [/bin/true]}\n      - {name: b, action: exec, argv: "
      "[/bin/true]}\n");
  auto report = run();
  EXPECT_TRUE(report.ok);
  EXPECT_EQ(types(), (std::vector<std::string>{"failover_started", "step_started", "step_done",
                                               "step_started", "step_done", "failover_completed"}));
  EXPECT_EQ(events_[2].fields["step"], "a");
  EXPECT_EQ(events_[0].fields["coordinator"], "local");
  EXPECT_TRUE(events_[0].fields["fencing_token"].get<std::string>().starts_with("local-"));
  EXPECT_TRUE(events_.back().fields.contains("rto_ms"));
}

TEST_F(RunnerTest, RetriesWithBackoffThenAborts) {
  load(
      "      - {name: flaky, action: exec, argv: [/bin/false], retries: 2, backoff: 20ms}\n"
      "      - {name: never, action: exec, argv: [/bin/true]}\n");
  const auto t0 = std::chrono::steady_clock::now();
  auto report = run();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 60ms);  // 20ms + 40ms of backoff
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.failed_step, "flaky");
  std::size_t retrying = 0;
  for (const auto& e : events_)
    retrying += e.type == "step_failed" && e.fields["retrying"].get<bool>();
  EXPECT_EQ(retrying, 2u);
  EXPECT_EQ(types().back(), "failover_failed");
  EXPECT_EQ(events_.back().fields["failed_step"], "flaky");
  const auto seen = types();
  EXPECT_EQ(std::count(seen.begin(), seen.end(), "step_started"), 1);  // "never" never ran
}

TEST_F(RunnerTest, TheRolesMoveOnlyOnceEveryStepPassed) {
  int commits = 0;
  auto commit = [&](std::string error) {
    return [&commits, error](const actions::PlanContext& ctx,
                             actions::RunRequest::Committed committed) {
      ++commits;
      EXPECT_EQ(ctx.new_primary, "new-host");
      committed(error, {{"new_primary", ctx.new_primary}, {"epoch", 2}});
    };
  };
  load("      - {name: a, action: exec, argv: [/bin/false]}\n");
  EXPECT_FALSE(run(false, nullptr, commit("")).ok);
  EXPECT_EQ(commits, 0);  // a failed plan moves nothing
  events_.clear();
  run(true, nullptr, commit(""));  // a dry run (of a plan that would fail) moves nothing either
  EXPECT_EQ(commits, 0);
  events_.clear();
  load("      - {name: a, action: exec, argv: [/bin/true]}\n");
  EXPECT_TRUE(run(false, nullptr, commit("")).ok);
  EXPECT_EQ(commits, 1);
  EXPECT_EQ(types().back(), "failover_completed");
  EXPECT_EQ(events_.back().fields["epoch"], 2);
  EXPECT_NE(events_.back().reason.find("new-host is primary at epoch 2"), std::string::npos);
  events_.clear();
  // The steps ran but the roles could not be moved (the state changed meanwhile): said so.
  auto report = run(false, nullptr, commit("the roles moved meanwhile"));
  EXPECT_FALSE(report.ok);  // `hftguard failover` exits non-zero
  EXPECT_NE(report.reason.find("the roles were not moved"), std::string::npos);
  EXPECT_EQ(types().back(), "failover_completed");  // every step did its work
  EXPECT_EQ(events_.back().fields["roles_error"], "the roles moved meanwhile");
  EXPECT_NE(events_.back().reason.find("roles NOT moved"), std::string::npos);
}

TEST_F(RunnerTest, OnFailureContinueGoesOn) {
  load(
      "      - {name: optional, action: exec, argv: [/bin/false], on_failure: continue}\n"
      "      - {name: after, action: exec, argv: [/bin/true]}\n");
  EXPECT_TRUE(run().ok);
  const auto seen = types();
  EXPECT_EQ(std::count(seen.begin(), seen.end(), "step_done"), 1);
}

TEST_F(RunnerTest, AStepPastItsDeadlineIsKilledAndFails) {
  load("      - {name: slow, action: exec, argv: [/bin/sleep, '5'], timeout: 100ms}\n");
  const auto t0 = std::chrono::steady_clock::now();
  auto report = run();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_FALSE(report.ok);
  EXPECT_NE(report.reason.find("timed out after 100ms"), std::string::npos) << report.reason;
}

// A fence attempts every part and fails when any did; the plan remembers it, and a later
// promotion is refused even though the fence step said on_failure: continue.
TEST_F(RunnerTest, AFailedFenceBlocksALaterPromotionEvenWhenThePlanContinues) {
  load(
      "      - {name: fence, action: fence, kv_store: etcd, kv_endpoints: ['http://127.0.0.1:1'],"
      " stop_argv: [/bin/true], on_failure: continue, timeout: 2s}\n"
      "      - {name: promote, action: pg_promote, host: 127.0.0.1, port: 1, user: u,"
      " allow_unfenced: true}\n");
  auto report = run();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.failed_step, "promote");
  EXPECT_NE(report.reason.find("a fence step earlier in this plan failed"), std::string::npos)
      << report.reason;
  // The KV part failed, and the stop after it was still attempted and recorded.
  const auto fence = std::find_if(events_.begin(), events_.end(), [](const Recorded& e) {
    return e.type == "step_failed" && e.fields["step"] == "fence";
  });
  ASSERT_NE(fence, events_.end());
  const std::string error = fence->fields["error"];
  EXPECT_NE(error.find("kv FAILED"), std::string::npos) << error;
  EXPECT_NE(error.find("stop ok"), std::string::npos) << error;
}

TEST_F(RunnerTest, AFenceThatRanOutOfTimeFailedToo) {
  load(
      "      - {name: fence, action: fence, stop_argv: [/bin/sleep, '5'], timeout: 100ms,"
      " on_failure: continue}\n"
      "      - {name: promote, action: pg_promote, host: 127.0.0.1, port: 1, user: u}\n");
  auto report = run();
  EXPECT_EQ(report.failed_step, "promote");
  EXPECT_NE(report.reason.find("a fence step earlier in this plan failed"), std::string::npos)
      << report.reason;
}

// A fence that succeeded is the proof a promotion needs; without it (and without an old
// primary to look at) the promotion is refused before anything is asked of the standby.
TEST_F(RunnerTest, AFenceThatSucceededIsProofForALaterPromotion) {
  load("      - {name: promote, action: pg_promote, host: 127.0.0.1, port: 1, user: u}\n");
  auto unfenced = run();
  EXPECT_NE(unfenced.reason.find("no proof that the old primary cannot take writes"),
            std::string::npos)
      << unfenced.reason;
  events_.clear();
  load(
      "      - {name: fence, action: fence, stop_argv: [/bin/true]}\n"
      "      - {name: promote, action: pg_promote, host: 127.0.0.1, port: 1, user: u}\n");
  auto fenced = run();
  EXPECT_EQ(fenced.failed_step, "promote");
  // Past the proof: it failed only because no standby listens on port 1.
  EXPECT_NE(fenced.reason.find("standby 127.0.0.1:1"), std::string::npos) << fenced.reason;
}

TEST_F(RunnerTest, PlaceholdersAreFilledInArgvAndEnv) {
  const std::string out = (dir_ / "out").string();
  load("      - {name: write, action: exec, argv: [/bin/sh, -c, 'echo \"$A {new_primary}\" > " +
       out + "'], env: {A: '{component}-{old_primary}'}}\n");
  EXPECT_TRUE(run().ok);
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "c-old-host new-host");
}

TEST_F(RunnerTest, DryRunChecksButDoesNotRun) {
  const std::string marker = (dir_ / "ran").string();
  load("      - {name: touch, action: exec, argv: [/usr/bin/touch, '" + marker +
       "']}\n"
       "      - {name: missing, action: exec, argv: [/no/such/program]}\n");
  auto report = run(true);
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.failed_step, "missing");
}

TEST_F(RunnerTest, NeverTwoPlansForOneComponent) {
  load("      - {name: slow, action: exec, argv: [/bin/sleep, '0.2']}\n");
  actions::RunRequest r;
  r.component = "c";
  r.plan = cfg_->findPlan("p");
  bool first = false;
  EXPECT_TRUE(runner_->start(r, [&](const actions::RunReport&) { first = true; }));
  EXPECT_FALSE(runner_->start(r, nullptr));
  EXPECT_EQ(types().back(), "failover_skipped");  // not a failure: the first plan runs
  // Another process (an operator's hftguard failover) is held off by the lock file too.
  auto other = coord::makeLocalCoordinator(dir_.string());
  coord::Grant grant;
  EXPECT_EQ(other->acquire("c", grant), nullptr);
  EXPECT_FALSE(grant.granted);
  while (!first) io_.run_one_for(20ms);
  EXPECT_NE(other->acquire("c", grant), nullptr);
}

// The RTO of a failover on sustained latency starts at the first slow sample, not at the
// plan: a decider whose clock began 10 s ago saw 8 s of slow samples before it decided.
TEST_F(RunnerTest, RtoStartsAtTheFirstSampleThatBreachedTheRule) {
  load("      - {name: a, action: exec, argv: [/bin/true]}\n");
  auto decided = config::loadConfigString(
      "node: {name: n1}\nplans:\n  p: {steps: [{action: exec, argv: [/bin/true]}]}\n"
      "components:\n  c: {tier: hot, rto_target: 10s, plan: p, checks: {t: {type: tcp, host: "
      "127.0.0.1, port: 1, interval: 1s}}, triggers: {latency: {above: 1s, for: 7s}}}\n",
      "decider.yaml");
  ASSERT_TRUE(decided.config);
  ManualClock sim(clock_.wallNow() - 10s);
  decide::Decider decider(*decided.config);
  std::optional<decide::Decision> failover;
  for (int i = 0; i < 12 && !failover; ++i) {
    probes::ProbeResult p;
    p.component = "c";
    p.check = "t";
    p.latency = i < 2 ? 5ms : 1500ms;  // slow from t = 2 s on
    p.at = sim.wallNow();
    for (auto& d : decider.observe(p, sim.now())) {
      if (d.kind == decide::Decision::Kind::FailoverTriggered) failover = d;
    }
    sim.advance(1s);
  }
  ASSERT_TRUE(failover);
  auto report = run(false, &*failover);
  ASSERT_TRUE(report.ok);
  const auto& done = events_.back().fields;
  EXPECT_EQ(done["rto_from"], "first sample over the latency limit");
  EXPECT_GE(done["rto_ms"].get<double>(), 7900);  // from t = 2 s of a clock 10 s behind
  EXPECT_LT(done["rto_ms"].get<double>(), 60000);
}

TEST(Template, FillsOnlyKnownPlaceholders) {
  actions::PlanContext c{"trading", "n1", "a", "b", "tok", "2026-11-26T00:00:00.000Z", "down"};
  EXPECT_EQ(actions::fill("{component}/{new_primary} {fencing_token}", c), "trading/b tok");
  EXPECT_EQ(actions::fill("{\"x\": {\"reason\": \"{reason}\"}} {unknown} {", c),
            "{\"x\": {\"reason\": \"down\"}} {unknown} {");
}

}  // namespace

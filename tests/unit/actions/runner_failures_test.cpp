// The runner when an action misbehaves: one that throws (building, running, checking) is a
// failed step with the reason, never an exception out of io.run(); an exec step past its
// deadline kills what its program forked too, and reaping never blocks the loop.

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "hftguard/actions/runner.hpp"
#include "hftguard/actions/test_hooks.hpp"
#include "hftguard/config/loader.hpp"
#include "hftguard/net/http_client.hpp"
#include "hftguard/net/worker_pool.hpp"

using namespace hftguard;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

enum class Throws { Building, Running, Checking, Never };

class ThrowingAction : public actions::Action {
 public:
  explicit ThrowingAction(Throws when) : when_(when) {
    if (when == Throws::Building) throw std::runtime_error("cannot build: bad reply");
  }
  std::string describe() const override { return "throws"; }
  void run(Done done) override {
    if (when_ == Throws::Running) {
      const auto j = nlohmann::json::parse("garbage");  // throws
      done(actions::ActionResult::success(j.dump()));
    }
    done(actions::ActionResult::success("ran"));
  }
  void check(Done done) override {
    if (when_ == Throws::Checking) throw std::out_of_range("vector::at");
    done(actions::ActionResult::success("checked"));
  }

 private:
  Throws when_;
};

class RunnerFailures : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hftguard-runner-fail-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    actions::test_hooks::replaceFactory("http_check", nullptr);
    fs::remove_all(dir_);
  }

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
        [this](const std::string& type, const std::string&, const std::string&, nlohmann::json) {
          types_.push_back(type);
        });
  }

  // Runs the plan on the loop; an exception out of io.run() fails the test.
  actions::RunReport run(bool dry_run = false) {
    std::optional<actions::RunReport> report;
    actions::RunRequest r;
    r.component = "c";
    r.plan = cfg_->findPlan("p");
    r.dry_run = dry_run;
    r.context = {"c", "n1", "old-host", "new-host", {}, {}, "test"};
    EXPECT_TRUE(runner_->start(r, [&](const actions::RunReport& rep) { report = rep; }));
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (!report && std::chrono::steady_clock::now() < until) {
      if (io_.stopped()) io_.restart();
      EXPECT_NO_THROW(io_.run_one_for(20ms));
    }
    EXPECT_TRUE(report) << "no report within 10s";
    return report.value_or(actions::RunReport{});
  }

  void fake(Throws when) {
    actions::test_hooks::replaceFactory(
        "http_check",
        [when](const config::StepConfig&, const actions::PlanContext&, actions::ActionEnv&) {
          return std::make_unique<ThrowingAction>(when);
        });
    load(
        "      - {name: odd, action: http_check, url: 'http://127.0.0.1:1/', expect: up, "
        "retries: 1, backoff: 10ms}\n"
        "      - {name: after, action: exec, argv: [/bin/true]}\n");
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
  std::vector<std::string> types_;
};

TEST_F(RunnerFailures, AnActionThatThrowsWhenBuiltIsAFailedStep) {
  fake(Throws::Building);
  const auto report = run();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.failed_step, "odd");
  EXPECT_NE(report.reason.find("cannot build: bad reply"), std::string::npos) << report.reason;
  EXPECT_EQ(types_.back(), "failover_failed");
}

TEST_F(RunnerFailures, AnActionThatThrowsWhenRunIsAFailedAttemptAndRetried) {
  fake(Throws::Running);
  const auto report = run();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.failed_step, "odd");
  EXPECT_NE(report.reason.find("the action threw"), std::string::npos) << report.reason;
  EXPECT_NE(report.reason.find("parse_error"), std::string::npos) << report.reason;
  EXPECT_EQ(std::count(types_.begin(), types_.end(), "step_failed"), 2);  // retried once
}

TEST_F(RunnerFailures, AnActionThatThrowsWhenCheckedFailsTheDryRun) {
  fake(Throws::Checking);
  const auto report = run(true);
  EXPECT_FALSE(report.ok);
  EXPECT_NE(report.reason.find("vector::at"), std::string::npos) << report.reason;
}

TEST_F(RunnerFailures, AFakeThatBehavesRunsThePlan) {
  fake(Throws::Never);
  EXPECT_TRUE(run().ok);
}

// Alive and not a zombie: a zombie's resources are gone, only its exit status waits.
bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
}

std::vector<pid_t> readPids(const fs::path& file) {
  std::ifstream in(file);
  std::vector<pid_t> pids;
  for (pid_t p; in >> p;) pids.push_back(p);
  return pids;
}

TEST_F(RunnerFailures, ExecPastItsDeadlineKillsWhatItForkedAndNeverBlocksTheLoop) {
  const fs::path pids = dir_ / "pids";
  // The program (a shell) forks a grandchild, writes both pids, and waits.
  load(
      "      - {name: slow, action: exec, timeout: 300ms, argv: [/bin/sh, -c, 'sleep 30 & echo $$ "
      "$! > " +
      pids.string() + "; wait']}\n");
  // A timer on the loop due 50 ms after the deadline must fire on time: cancelling the step
  // does not block the loop.
  boost::asio::steady_timer probe(io_);
  std::optional<std::chrono::steady_clock::duration> late;
  const auto due = std::chrono::steady_clock::now() + 350ms;
  probe.expires_at(due);
  probe.async_wait(
      [&](boost::system::error_code) { late = std::chrono::steady_clock::now() - due; });
  const auto report = run();
  EXPECT_FALSE(report.ok);
  EXPECT_NE(report.reason.find("timed out after 300ms"), std::string::npos) << report.reason;
  const auto both = readPids(pids);
  ASSERT_EQ(both.size(), 2u) << "the program did not write its pids";
  // Both gone soon after the deadline (generous bound); the loop keeps turning meanwhile.
  const auto until = std::chrono::steady_clock::now() + 5s;
  while ((alive(both[0]) || alive(both[1]) || fs::exists("/proc/" + std::to_string(both[0]))) &&
         std::chrono::steady_clock::now() < until) {
    io_.run_one_for(20ms);
  }
  EXPECT_FALSE(alive(both[1])) << "the grandchild survived the deadline";
  EXPECT_FALSE(fs::exists("/proc/" + std::to_string(both[0]))) << "the program was not reaped";
  while (!late && std::chrono::steady_clock::now() < until) io_.run_one_for(20ms);
  ASSERT_TRUE(late);
  EXPECT_LT(*late, 250ms) << "the loop was blocked";
  for (pid_t p : both) {
    if (alive(p)) ::kill(p, SIGKILL);  // never leave a process behind, even on failure
  }
}

}  // namespace

// No plan lost, no decision dropped, with the real binary on the real trading stack (Redis,
// two engine simulators, HAProxy, etcd). The trading plan's steps are each followed by a
// gate step (waits for a file the test creates), so the daemon stands still after exactly
// the step under test: killed there with SIGKILL, restarted, it records
// failover_interrupted, holds automation, and `hftguard failover --resume` completes the plan
// without running a completed step again; `--abandon` clears it; SIGTERM lets the plan
// finish; a plan whose lock is held is deferred, then run.

#include <fstream>
#include <set>
#include <thread>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include "event_file.hpp"
#include "process.hpp"
#include "servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> kSteps = {
    "verify_primary_down", "verify_standby_up", "promote_standby", "lb_primary_out",
    "lb_standby_in",       "wait_frontend",     "discovery",       "test_order"};

class TradingStack {
 public:
  TradingStack() {
    etcd.put("service/trading/primary", "primary.hft.local");
    events = dir.path() + "/failover_events.json";
    config = dir.path() + "/hftguard.yaml";
    fe = "http://127.0.0.1:" + std::to_string(lb.frontendPort());
    const std::string steps[] = {
        "{name: verify_primary_down, action: http_check, url: '" + primary.url("/health") +
            "', expect: down}",
        "{name: verify_standby_up, action: http_check, url: '" + standby.url("/health") +
            "', expect: up}",
        "{name: promote_standby, action: http_request, url: '" + standby.url("/admin/promote") +
            "'}",
        "{name: lb_primary_out, action: haproxy, socket: '" + lb.adminSocket() +
            "', backend: trading, server: primary, state: maint}",
        "{name: lb_standby_in, action: haproxy, socket: '" + lb.adminSocket() +
            "', backend: trading, server: standby, state: ready}",
        "{name: wait_frontend, action: http_check, url: '" + fe +
            "/health', expect: up, wait_until: true, poll_interval: 50ms, timeout: 5s}",
        "{name: discovery, action: kv_put, store: etcd, endpoints: ['" + etcd.endpoint() +
            "'], key: service/trading/primary, value: '{new_primary}', prev_value: "
            "'{old_primary}'}",
        "{name: test_order, action: e2e_order, url: '" + fe + "/api/orders/test'}"};
    std::ofstream out(config);
    out << "node: {name: e2e}\nevent_log: {path: " << events << "}\n"
        << "maintenance: {path: " << dir.path() << "/maintenance.json}\n"
        << "control_api: {listen: 'off', socket: " << dir.path() << "/control.sock}\n"
        << "components:\n  trading_engine:\n    tier: hot\n    rto_target: 30s\n"
        << "    plan: trading\n    primary: primary.hft.local\n    standby: standby.hft.local\n"
        << "    checks:\n      health: {type: http, url: '" << primary.url("/health")
        << "', interval: 200ms, timeout: 150ms}\nplans:\n  trading:\n    steps:\n";
    for (std::size_t i = 0; i < kSteps.size(); ++i) {
      out << "      - " << steps[i] << "\n"
          << "      - {name: gate_" << i + 1 << ", action: exec, timeout: 60s, argv: [/bin/sh, "
          << "-c, 'for n in $(seq 3000); do [ -e " << gate(i + 1)
          << " ] && exit 0; sleep 0.02; done; exit 1']}\n";
    }
  }

  std::string gate(std::size_t i) const { return dir.path() + "/go_" + std::to_string(i); }
  void open(std::size_t upto) const {
    for (std::size_t i = 1; i <= upto; ++i) std::ofstream(gate(i)) << "go\n";
  }
  std::string journal() const { return dir.path() + "/locks/trading_engine.plan.json"; }
  std::string lockFile() const { return dir.path() + "/locks/trading_engine.failover.lock"; }

  ChildProcess daemon(const std::string& log) const {
    ChildProcess p({HFTGUARD_BINARY, "run", "--config", config},
                   {.log_file = dir.path() + "/" + log});
    require(waitUntil([&] { return hasEvent(events, "state_changed"); }, 15s),
            "the daemon never reported a state", readFile(dir.path() + "/" + log));
    return p;
  }
  int failover(const std::string& flag, const std::string& log) const {
    return runCommand({HFTGUARD_BINARY, "failover", "--config", config, "trading_engine", flag},
                      {.log_file = dir.path() + "/" + log}, 60s);
  }
  // The index in the log of the first event of `type` (with step `step`) after `from`.
  std::optional<std::size_t> find(const std::string& type, const std::string& step = {},
                                  std::size_t from = 0) const {
    const auto all = readEvents(events);
    for (std::size_t i = from; i < all.size(); ++i) {
      if (all[i].type == type && (step.empty() || all[i].fields.value("step", "") == step))
        return i;
    }
    return std::nullopt;
  }
  bool waitFor(const std::string& type, const std::string& step = {}, std::size_t from = 0,
               std::chrono::milliseconds bound = 20s) const {
    return waitUntil([&] { return find(type, step, from).has_value(); }, bound, 20ms);
  }

  RedisServer redis;
  EngineSim primary{"primary", redis.port()};
  EngineSim standby{"standby"};
  HaproxyServer lb{primary.port(), standby.port()};
  EtcdServer etcd;
  TempDir dir{"hftguard-journal"};
  std::string events, config, fe;
};

// Events of `type` (for `step`) that changed something: a dry run's (--resume checks the
// remaining steps first) do not count.
std::size_t count(const std::vector<events::Event>& all, const std::string& type,
                  const std::string& step = {}) {
  std::size_t n = 0;
  for (const auto& e : all) {
    n += e.type == type && (step.empty() || e.fields.value("step", "") == step) &&
         !e.fields.value("dry_run", false);
  }
  return n;
}

// Killed with SIGKILL right after trading step `k` (1-based): restart, interrupted, resume.
void killAfterStepThenResume(std::size_t k) {
  SCOPED_TRACE("killed after step " + kSteps[k - 1]);
  TradingStack s;
  s.open(k - 1);  // the plan runs through step k and stops at the gate after it
  {
    ChildProcess first = s.daemon("run1.log");
    s.primary.setFault("crash");
    ASSERT_TRUE(s.waitFor("step_started", "gate_" + std::to_string(k)))
        << readFile(s.dir.path() + "/run1.log");
    first.kill(SIGKILL);
    first.waitExit(5s);
  }
  const auto before = readEvents(s.events);
  ASSERT_EQ(count(before, "step_done", kSteps[k - 1]), 1u);
  ASSERT_EQ(count(before, "failover_completed") + count(before, "failover_failed"), 0u);
  const std::string journal = readFile(s.journal());
  ASSERT_NE(journal.find("\"steps_done\":" + std::to_string(2 * k - 1)), std::string::npos)
      << journal;

  ChildProcess second = s.daemon("run2.log");
  ASSERT_TRUE(s.waitFor("failover_interrupted", {}, before.size(), 10s))
      << readFile(s.dir.path() + "/run2.log");
  const auto e = readEvents(s.events)[*s.find("failover_interrupted", {}, before.size())];
  EXPECT_EQ(e.fields["steps_done"], 2 * k - 1);
  EXPECT_EQ(e.fields["last_step"], kSteps[k - 1]);
  EXPECT_FALSE(s.find("failover_started", {}, before.size()));  // the daemon holds it

  s.open(kSteps.size());  // every gate open: the rest of the plan may run
  ASSERT_EQ(s.failover("--resume", "resume.log"), 0) << readFile(s.dir.path() + "/resume.log");
  const auto all = readEvents(s.events);
  EXPECT_EQ(count(all, "failover_completed"), 1u);
  EXPECT_EQ(count(all, "failover_started"), 2u);  // the first run and the resumed one
  for (const auto& step : kSteps) EXPECT_EQ(count(all, "step_done", step), 1u) << step;
  // No step done before the kill was started again, and the daemon ran no plan of its own.
  for (std::size_t i = before.size(); i < all.size(); ++i) {
    if (all[i].type != "step_started" || all[i].fields.value("dry_run", false)) continue;
    const std::string step = all[i].fields.value("step", "");
    EXPECT_EQ(count(before, "step_done", step), 0u) << step << " ran again";
  }
  EXPECT_FALSE(readFile(s.journal()).size());
  EXPECT_EQ(s.etcd.get("service/trading/primary"), "standby.hft.local");
  EXPECT_EQ(
      httpPost(s.fe + "/api/orders/test", "{\"symbol\":\"T\",\"quantity\":1,\"dry_run\":true}"),
      200);
  // The daemon sees the journal gone and automates the component again.
  EXPECT_TRUE(waitUntil(
      [&] {
        return readFile(s.dir.path() + "/run2.log").find("automation is back") != std::string::npos;
      },
      5s));
  second.stop();
}

TEST(PlanJournal, KilledAfterEachTradingStepResumesWithoutRepeatingOne) {
  for (std::size_t k = 1; k <= kSteps.size(); ++k) {
    killAfterStepThenResume(k);
    if (HasFatalFailure()) return;
  }
}

TEST(PlanJournal, AnInterruptedPlanHoldsAutomationUntilAbandoned) {
  TradingStack s;
  s.open(2);
  {
    ChildProcess first = s.daemon("run1.log");
    s.primary.setFault("crash");
    ASSERT_TRUE(s.waitFor("step_started", "gate_3")) << readFile(s.dir.path() + "/run1.log");
    first.kill(SIGKILL);
    first.waitExit(5s);
  }
  s.primary.restart();  // the old primary is back: the daemon sees it healthy
  const std::size_t mark = readEvents(s.events).size();
  ChildProcess second = s.daemon("run2.log");
  ASSERT_TRUE(s.waitFor("failover_interrupted", {}, mark, 10s));
  ASSERT_TRUE(waitUntil(
      [&] {
        const auto all = readEvents(s.events);
        for (std::size_t i = mark; i < all.size(); ++i)
          if (all[i].type == "state_changed" && all[i].fields.value("to", "") == "healthy")
            return true;
        return false;
      },
      10s))
      << readFile(s.dir.path() + "/run2.log");
  s.primary.setFault("crash");  // it fails again: recorded, suppressed, not failed over
  ASSERT_TRUE(s.waitFor("failover_suppressed", {}, mark, 10s))
      << readFile(s.dir.path() + "/run2.log");
  const auto held = readEvents(s.events)[*s.find("failover_suppressed", {}, mark)];
  EXPECT_EQ(held.fields["suppressed_by"], "interrupted");
  EXPECT_FALSE(s.find("failover_started", {}, mark));

  ASSERT_EQ(s.failover("--abandon", "abandon.log"), 0) << readFile(s.dir.path() + "/abandon.log");
  ASSERT_TRUE(s.find("failover_abandoned", {}, mark));
  EXPECT_EQ(readFile(s.journal()), "");
  EXPECT_TRUE(waitUntil(
      [&] {
        return readFile(s.dir.path() + "/run2.log").find("automation is back") != std::string::npos;
      },
      5s));
  // Nothing left to resume or abandon.
  EXPECT_NE(s.failover("--resume", "resume.log"), 0);
  second.stop();
  s.open(kSteps.size());  // releases the first daemon's orphaned gate step
}

TEST(PlanJournal, SigtermLetsTheRunningPlanFinishThenRecordsTheStop) {
  TradingStack s;
  s.open(2);
  ChildProcess daemon = s.daemon("run.log");
  s.primary.setFault("crash");
  ASSERT_TRUE(s.waitFor("step_started", "gate_3")) << readFile(s.dir.path() + "/run.log");
  daemon.kill(SIGTERM);
  EXPECT_FALSE(daemon.waitExit(500ms)) << "stopped with a plan in flight";
  s.open(kSteps.size());
  const auto status = daemon.waitExit(30s);
  ASSERT_TRUE(status) << readFile(s.dir.path() + "/run.log");
  EXPECT_EQ(*status, 0);
  const auto all = readEvents(s.events);
  ASSERT_GE(all.size(), 2u);
  EXPECT_EQ(all[all.size() - 2].type, "failover_completed");
  EXPECT_EQ(all.back().type, "daemon_stopped");
  EXPECT_EQ(all.back().fields["signal"], "SIGTERM");
  EXPECT_EQ(all.front().type, "daemon_started");
  EXPECT_EQ(readFile(s.journal()), "");
}

TEST(PlanJournal, ASecondSigtermInterruptsThePlanAndKeepsItsJournal) {
  TradingStack s;
  s.open(2);
  ChildProcess daemon = s.daemon("run.log");
  s.primary.setFault("crash");
  ASSERT_TRUE(s.waitFor("step_started", "gate_3")) << readFile(s.dir.path() + "/run.log");
  daemon.kill(SIGTERM);
  EXPECT_FALSE(daemon.waitExit(300ms));
  daemon.kill(SIGTERM);
  ASSERT_TRUE(daemon.waitExit(10s)) << readFile(s.dir.path() + "/run.log");
  const auto all = readEvents(s.events);
  EXPECT_EQ(count(all, "failover_interrupted"), 1u);
  EXPECT_EQ(count(all, "failover_completed") + count(all, "failover_failed"), 0u);
  EXPECT_EQ(all.back().type, "daemon_stopped");
  EXPECT_NE(readFile(s.journal()).find("\"last_step\":\"promote_standby\""), std::string::npos);
  s.open(kSteps.size());  // releases the gate step's orphaned shell
}

TEST(PlanJournal, APlanWhoseLockIsHeldIsDeferredAndRunsWhenItFrees) {
  TradingStack s;
  s.open(kSteps.size());
  ChildProcess daemon = s.daemon("run.log");
  // Another process holds the component's lock (as an operator's hftguard failover would).
  const int fd = ::open(s.lockFile().c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  s.primary.setFault("crash");
  ASSERT_TRUE(s.waitFor("failover_deferred", {}, 0, 10s)) << readFile(s.dir.path() + "/run.log");
  std::this_thread::sleep_for(500ms);  // held a while: retried, not dropped
  EXPECT_FALSE(s.find("failover_started"));
  EXPECT_FALSE(s.find("failover_skipped"));
  ::flock(fd, LOCK_UN);
  ::close(fd);
  ASSERT_TRUE(s.waitFor("failover_completed", {}, 0, 20s)) << readFile(s.dir.path() + "/run.log");
  EXPECT_EQ(s.etcd.get("service/trading/primary"), "standby.hft.local");
  daemon.stop();
}

}  // namespace

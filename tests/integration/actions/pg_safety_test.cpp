// pg_promote's safety rules against a real PostgreSQL 15 primary + streaming standby:
// unreachable is not down, nothing is sent past the step's deadline, and a standby whose
// WAL receiver stopped hearing from its primary is not promoted.

#include <cstdio>

#include <gtest/gtest.h>
#include <signal.h>

#include "hftguard/actions/runner.hpp"

#include "action_harness.hpp"
#include "servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

namespace {

class PgSafety : public ::testing::Test {
 protected:
  std::string promote(const std::string& extra) const {
    return "action: pg_promote, host: 127.0.0.1, port: " + std::to_string(pg_.standbyPort()) +
           ", user: postgres" + extra;
  }
  static std::string oldPrimary(int port) {
    return ", old_primary_host: 127.0.0.1, old_primary_port: " + std::to_string(port);
  }
  bool standbyInRecovery() const {
    return pg_.query(pg_.standbyPort(), "SELECT pg_is_in_recovery()") == "t";
  }

  // Runs a one-step plan through the FailoverRunner (deadline, cancel, events) and returns
  // its report once failover_failed / failover_completed is recorded.
  actions::RunReport runPlan(const std::string& step) {
    auto r = config::loadConfigString(
        "node: {name: n1}\nplans:\n  p: {steps: [{" + step +
            "}]}\ncomponents:\n  c: {tier: cold, rto_target: 1m, checks: {t: {type: tcp, host: "
            "127.0.0.1, port: 1}}}\n",
        "plan.yaml");
    for (const auto& e : r.errors) ADD_FAILURE() << e.format();
    if (!r.ok()) return {};
    cfg_ = r.config;
    coordinator_ = coord::makeLocalCoordinator(dir_.path());
    runner_ = std::make_unique<actions::FailoverRunner>(
        rig_.env, *coordinator_,
        [](const std::string&, const std::string&, const std::string&, nlohmann::json) {});
    actions::RunRequest req;
    req.component = "c";
    req.plan = cfg_->findPlan("p");
    req.context = {"c", "n1", "", "", "", "", ""};
    std::optional<actions::RunReport> report;
    EXPECT_TRUE(runner_->start(req, [&](const actions::RunReport& rep) { report = rep; }));
    const auto limit = std::chrono::steady_clock::now() + 30s;
    while (!report && std::chrono::steady_clock::now() < limit) spin(20ms);
    EXPECT_TRUE(report) << "plan did not finish";
    return report.value_or(actions::RunReport{});
  }

  // Keeps the loop (and so any worker's late continuation) turning for `d`.
  void spin(std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
      if (rig_.io.stopped()) rig_.io.restart();
      rig_.io.run_one_for(20ms);
    }
  }

  // After the plan failed, the standby must stay a standby: checked for 5 s.
  void expectStillAStandbyFor5s() {
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < until) {
      spin(250ms);
      ASSERT_TRUE(standbyInRecovery()) << "promoted after the plan had failed";
    }
  }

  PostgresPair pg_;
  ActionRig rig_;
  TempDir dir_;
  std::shared_ptr<const config::Config> cfg_;
  std::unique_ptr<coord::Coordinator> coordinator_;
  std::unique_ptr<actions::FailoverRunner> runner_;
};

// An old primary that accepts TCP and never answers may be serving writes behind a
// partition: a timeout proves nothing, and the promotion is refused.
TEST_F(PgSafety, UnreachableIsNotDown) {
  BlackHole hole;
  auto r = rig_.step(promote(oldPrimary(hole.port()) + ", timeout: 10s"), false);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("unreachable is not down"), std::string::npos) << r.detail;
  EXPECT_TRUE(standbyInRecovery());
  FullBacklog backlog;  // a SYN never answered
  r = rig_.step(promote(oldPrimary(backlog.port()) + ", timeout: 10s"), true);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("unreachable is not down"), std::string::npos) << r.detail;
  // A refused connection is proof (the host answers, nothing listens): the dry run passes.
  pg_.stopPrimary();
  r = rig_.step(promote(oldPrimary(pg_.primaryPort()) + ", timeout: 10s"), true);
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_NE(r.detail.find("refuses connections"), std::string::npos) << r.detail;
  // allow_unfenced: the operator accepts the risk, the promotion goes ahead.
  BlackHole again;
  r = rig_.step(promote(oldPrimary(again.port()) + ", allow_unfenced: true, timeout: 10s"), false);
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_FALSE(standbyInRecovery());
}

// The runner gives up at the step's deadline; the worker's job must not promote afterwards.
TEST_F(PgSafety, ABlackHoledOldPrimaryPastTheDeadlineNeverPromotes) {
  BlackHole hole;
  auto report = runPlan(promote(oldPrimary(hole.port()) + ", timeout: 500ms"));
  EXPECT_FALSE(report.ok);
  EXPECT_NE(report.reason.find("timed out after 500ms"), std::string::npos) << report.reason;
  expectStillAStandbyFor5s();
}

// The standby answers slowly (a role whose search_path shadows pg_is_in_recovery() with one
// that sleeps 0.7 s), so the preconditions end 1.4 s into a 1 s step, after the runner has
// recorded it failed. Every precondition holds - the old primary "answers as a standby" -
// yet pg_promote must never be sent.
TEST_F(PgSafety, NothingIsSentAfterTheDeadline) {
  pg_.query(pg_.primaryPort(),
            "CREATE SCHEMA slow; CREATE FUNCTION slow.pg_is_in_recovery() RETURNS boolean "
            "LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_catalog.pg_sleep(0.7); RETURN "
            "pg_catalog.pg_is_in_recovery(); END $$; CREATE ROLE slowpoke LOGIN SUPERUSER; "
            "ALTER ROLE slowpoke SET search_path = slow, pg_catalog; SELECT 1");
  ASSERT_TRUE(waitUntil(
      [&] {
        return pg_.query(pg_.standbyPort(),
                         "SELECT count(*) FROM pg_roles WHERE rolname = 'slowpoke'") == "1";
      },
      10s));
  const std::string step =
      "action: pg_promote, host: 127.0.0.1, port: " + std::to_string(pg_.standbyPort()) +
      ", user: slowpoke" + oldPrimary(pg_.standbyPort()) + ", timeout: 1s";
  auto report = runPlan(step);
  EXPECT_FALSE(report.ok);
  EXPECT_NE(report.reason.find("timed out after 1s"), std::string::npos) << report.reason;
  expectStillAStandbyFor5s();
}

// A standby whose WAL receiver has heard nothing from its primary for longer than
// max_staleness is not fresh, whatever its replay lag (0 here). The primary's walsender is
// frozen (SIGSTOP): the TCP connection stays up, the receiver still says "streaming".
TEST_F(PgSafety, AStandbyThatStoppedHearingFromItsPrimaryIsNotPromoted) {
  const std::string age =
      "SELECT EXTRACT(EPOCH FROM clock_timestamp() - last_msg_receipt_time) FROM "
      "pg_stat_wal_receiver";
  std::printf("idle pair: the standby last heard from its primary %s s ago\n",
              pg_.query(pg_.standbyPort(), age).c_str());
  const int walsender =
      std::stoi(pg_.query(pg_.primaryPort(), "SELECT pid FROM pg_stat_replication"));
  ASSERT_EQ(::kill(walsender, SIGSTOP), 0);
  ASSERT_TRUE(waitUntil([&] { return std::stod(pg_.query(pg_.standbyPort(), age)) > 3; }, 20s));
  auto r = rig_.step(promote(", allow_unfenced: true, max_staleness: 2s, timeout: 10s"), false);
  ::kill(walsender, SIGCONT);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("has not heard from its primary for"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("max_staleness 2s"), std::string::npos) << r.detail;
  EXPECT_TRUE(standbyInRecovery());
}

}  // namespace

// postgres probe against a real PostgreSQL 15 primary + streaming standby.

#include <thread>

#include <gtest/gtest.h>

#include "../../support/probe_harness.hpp"
#include "../../support/servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using probes::ProbeStatus;
using namespace std::chrono_literals;

namespace {

class PostgresProbe : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pg_ = new PostgresPair();
    pg_->query(pg_->primaryPort(),
               "CREATE TABLE hftguard_write_check (node text PRIMARY KEY, checked_at timestamptz "
               "NOT NULL); SELECT 1");
  }
  static void TearDownTestSuite() {
    delete pg_;
    pg_ = nullptr;
  }

  static std::string check(const std::string& name, int port, const std::string& extra) {
    return "      " + name + ":\n        type: postgres\n        host: 127.0.0.1\n        port: " +
           std::to_string(port) + "\n        user: postgres\n        timeout: 1s\n" + extra;
  }

  static PostgresPair* pg_;
};

PostgresPair* PostgresProbe::pg_ = nullptr;

TEST_F(PostgresProbe, HealthyPrimaryTakesTheWriteCheck) {
  ProbeHarness h(
      check("p", pg_->primaryPort(),
            "        expect_role: primary\n        write_check_table: hftguard_write_check\n"));
  auto r = h.run("p");
  EXPECT_EQ(r.status, ProbeStatus::Ok) << r.reason;
  EXPECT_EQ(r.value("is_primary"), 1.0);
  EXPECT_NE(r.reason.find("write ok"), std::string::npos);
  EXPECT_EQ(pg_->query(pg_->primaryPort(), "SELECT node FROM hftguard_write_check"), "test-node");
}

TEST_F(PostgresProbe, HealthyStandbyReportsLagAndStreaming) {
  ProbeHarness h(check("s", pg_->standbyPort(),
                       "        expect_role: standby\n        max_lag_bytes: 1048576\n"));
  auto r = h.run("s");
  EXPECT_EQ(r.status, ProbeStatus::Ok) << r.reason;
  EXPECT_EQ(r.value("is_primary"), 0.0);
  EXPECT_EQ(r.value("streaming"), 1.0);
  EXPECT_TRUE(r.value("lag_bytes").has_value());
}

TEST_F(PostgresProbe, WrongRoleFails) {
  ProbeHarness h(check("s", pg_->standbyPort(), "        expect_role: primary\n"));
  auto r = h.run("s");
  EXPECT_EQ(r.status, ProbeStatus::Failed);
  EXPECT_NE(r.reason.find("is a standby, expected primary"), std::string::npos) << r.reason;
}

// The runbook's replay-timestamp query calls an idle standby lagging; this probe must not.
TEST_F(PostgresProbe, IdleStandbyIsNotLagging) {
  pg_->query(
      pg_->primaryPort(),
      "CREATE TABLE IF NOT EXISTS idle_probe (x int); INSERT INTO idle_probe VALUES (1); SELECT 1");
  std::this_thread::sleep_for(1500ms);  // the primary stays idle; replay timestamp ages
  ProbeHarness h(
      check("s", pg_->standbyPort(), "        expect_role: standby\n        max_lag: 1s\n"));
  auto r = h.run("s");
  EXPECT_EQ(r.status, ProbeStatus::Ok) << r.reason;
  EXPECT_LT(*r.value("lag_seconds"), 1.0);
}

TEST_F(PostgresProbe, ReplicationLagOverThresholdFails) {
  pg_->query(pg_->standbyPort(), "SELECT pg_wal_replay_pause()");
  pg_->query(pg_->primaryPort(),
             "CREATE TABLE lag_probe AS SELECT generate_series(1, 20000) AS x; SELECT 1");
  ASSERT_TRUE(waitUntil(
      [&] {
        return std::stod(pg_->query(pg_->standbyPort(),
                                    "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), "
                                    "pg_last_wal_replay_lsn())")) > 100000;
      },
      10s));
  ProbeHarness h(check("s", pg_->standbyPort(),
                       "        expect_role: standby\n        max_lag_bytes: 65536\n"));
  auto r = h.run("s");
  pg_->query(pg_->standbyPort(), "SELECT pg_wal_replay_resume()");
  EXPECT_EQ(r.status, ProbeStatus::Failed);
  EXPECT_NE(r.reason.find("replication lag"), std::string::npos) << r.reason;
  EXPECT_GT(*r.value("lag_bytes"), 65536);
}

TEST_F(PostgresProbe, StoppedServerIsRefused) {
  ProbeHarness h(check("x", freePort(), ""));
  auto r = h.run("x");
  EXPECT_EQ(r.status, ProbeStatus::Failed);
  EXPECT_NE(r.reason.find("refused"), std::string::npos) << r.reason;
}

TEST_F(PostgresProbe, HungServerTimesOutAtTheDeadline) {
  BlackHole hole;
  ProbeHarness h("      x:\n        type: postgres\n        host: 127.0.0.1\n        port: " +
                 std::to_string(hole.port()) +
                 "\n        user: postgres\n        timeout: 300ms\n");
  auto r = h.run("x");
  EXPECT_EQ(r.status, ProbeStatus::Timeout) << r.reason;
  EXPECT_GE(r.latency, 300ms);
  EXPECT_LT(r.latency, 400ms);
}

TEST_F(PostgresProbe, GarbageAnswerIsAFailedProbe) {
  GarbageServer junk("HTTP/1.1 200 OK\r\n\r\nhello");
  ProbeHarness h(check("x", junk.port(), ""));
  auto r = h.run("x");
  EXPECT_EQ(r.status, ProbeStatus::Failed) << r.reason;
}

}  // namespace

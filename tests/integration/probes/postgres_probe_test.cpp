// postgres probe against a real PostgreSQL 15 primary + streaming standby.

#include <thread>

#include <gtest/gtest.h>
#include <signal.h>

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

// Connection reuse: one connection serves the check's runs (a connection per run cost more
// CPU than the queries), a fresh one every `reconnect_every` runs, and a lost connection is
// replaced within the run.
class PostgresSession : public PostgresProbe {
 protected:
  static constexpr const char* kOurs = "FROM pg_stat_activity WHERE application_name = 'hftguard'";

  // hftguard's connections to the primary, once backends of earlier tests have gone.
  static bool onlyConnections(int n) {
    return waitUntil(
        [&] {
          return pg_->query(pg_->primaryPort(), std::string("SELECT count(*) ") + kOurs) ==
                 std::to_string(n);
        },
        5s);
  }
  // Latency is not under test here: a loaded machine must not fail the runs.
  static std::string session(const std::string& extra) {
    return check("p", pg_->primaryPort(), "        max_latency: 5s\n" + extra);
  }
  static std::string backendPid() {
    return pg_->query(pg_->primaryPort(), std::string("SELECT min(pid) ") + kOurs);
  }
};

TEST_F(PostgresSession, OneConnectionServesManyRuns) {
  ProbeHarness h(session("        reconnect_every: 1000\n"));
  auto first = h.run("p");
  ASSERT_EQ(first.status, ProbeStatus::Ok) << first.reason;
  EXPECT_EQ(first.value("connected"), 1.0);
  ASSERT_TRUE(onlyConnections(1));
  const std::string pid = backendPid();
  for (int i = 0; i < 30; ++i) {
    auto r = h.run("p");
    ASSERT_EQ(r.status, ProbeStatus::Ok) << r.reason;
    EXPECT_EQ(r.value("connected"), 0.0) << "run " << i + 2 << " opened a connection";
  }
  EXPECT_EQ(pg_->query(pg_->primaryPort(), std::string("SELECT count(*) ") + kOurs), "1");
  EXPECT_EQ(backendPid(), pid);
}

TEST_F(PostgresSession, AFreshConnectionEveryNRuns) {
  ProbeHarness h(session("        reconnect_every: 3\n"));
  std::vector<double> connected;
  for (int i = 0; i < 7; ++i) {
    auto r = h.run("p");
    ASSERT_EQ(r.status, ProbeStatus::Ok) << r.reason;
    connected.push_back(r.value("connected").value_or(-1));
  }
  EXPECT_EQ(connected, (std::vector<double>{1, 0, 0, 1, 0, 0, 1}));
  EXPECT_TRUE(onlyConnections(1));  // the replaced connection was closed
}

// A terminated backend (an operator, a pooler, a restart between runs) costs no failed run.
TEST_F(PostgresSession, ATerminatedBackendIsReplacedWithinTheRun) {
  ProbeHarness h(session(""));
  ASSERT_EQ(h.run("p").status, ProbeStatus::Ok);
  ASSERT_TRUE(onlyConnections(1));
  pg_->query(pg_->primaryPort(), std::string("SELECT count(pg_terminate_backend(pid)) ") + kOurs);
  auto r = h.run("p");
  EXPECT_EQ(r.status, ProbeStatus::Ok) << r.reason;
  EXPECT_EQ(r.value("connected"), 1.0);
}

// A backend that hangs under a cached connection: the run is a timeout at its deadline, the
// check's next runs too (no second worker), and the check answers again once it resumes.
TEST_F(PostgresSession, AHungBackendIsATimeoutAtTheDeadline) {
  std::string c = session("");
  c.replace(c.find("timeout: 1s"), 11, "timeout: 300ms");
  ProbeHarness h(c);
  ASSERT_EQ(h.run("p").status, ProbeStatus::Ok);
  ASSERT_TRUE(onlyConnections(1));
  const pid_t backend = std::stoi(backendPid());
  ASSERT_EQ(::kill(backend, SIGSTOP), 0);
  auto hung = h.run("p");
  auto again = h.run("p");
  ::kill(backend, SIGCONT);
  EXPECT_EQ(hung.status, ProbeStatus::Timeout) << hung.reason;
  EXPECT_GE(hung.latency, 300ms);
  EXPECT_LT(hung.latency, 400ms);
  EXPECT_EQ(again.status, ProbeStatus::Timeout) << again.reason;
  EXPECT_TRUE(waitUntil([&] { return h.run("p").status == ProbeStatus::Ok; }, 5s));
}

// Last in the file: it rebuilds the pair. A restarted server is followed at once.
TEST_F(PostgresSession, FollowsAServerThatRestarted) {
  ProbeHarness h(session(""));
  ASSERT_EQ(h.run("p").status, ProbeStatus::Ok);
  pg_->stopPrimary();
  auto down = h.run("p");
  EXPECT_EQ(down.status, ProbeStatus::Failed) << down.reason;  // the reconnect failed too
  pg_->rebuild();
  auto back = h.run("p");
  EXPECT_EQ(back.status, ProbeStatus::Ok) << back.reason;
  EXPECT_EQ(back.value("connected"), 1.0);
  pg_->query(pg_->primaryPort(),
             "CREATE TABLE IF NOT EXISTS hftguard_write_check (node text PRIMARY KEY, checked_at "
             "timestamptz NOT NULL); SELECT 1");
}

}  // namespace

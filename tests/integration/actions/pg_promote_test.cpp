// pg_promote against a real PostgreSQL 15 primary + streaming standby.

#include <atomic>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "hftguard/actions/action.hpp"

#include "action_harness.hpp"
#include "servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

namespace {

class PgPromote : public ::testing::Test {
 protected:
  // Runs (or dry-runs) one pg_promote (or other `kind`) step with `extra` keys against the
  // pair's standby (or another port).
  actions::ActionResult step(const std::string& extra, bool dry_run,
                             const std::string& kind = "pg_promote", int port = 0) {
    return rig_.step("action: " + kind + ", host: 127.0.0.1, port: " +
                         std::to_string(port != 0 ? port : pg_.standbyPort()) +
                         ", user: postgres, timeout: 10s" + extra,
                     dry_run, {"c", "n1", "", "", "", "", ""});
  }

  bool standbyInRecovery() {
    return pg_.query(pg_.standbyPort(), "SELECT pg_is_in_recovery()") == "t";
  }

  PostgresPair pg_;
  ActionRig rig_;
};

TEST_F(PgPromote, DryRunThenPromoteAndWrite) {
  // No old primary to look at: the dry run passes only because the step opts out.
  auto check = step(", max_lag_bytes: 1048576, allow_unfenced: true", true);
  EXPECT_TRUE(check.ok) << check.detail;
  EXPECT_TRUE(standbyInRecovery()) << "a dry run promoted the standby";
  // The old primary still answers as a primary: promoting now would make two.
  auto refused =
      step(", old_primary_host: 127.0.0.1, old_primary_port: " + std::to_string(pg_.primaryPort()),
           false);
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.detail.find("never two primaries"), std::string::npos) << refused.detail;
  EXPECT_TRUE(standbyInRecovery());
  pg_.stopPrimary();
  auto promoted =
      step(", old_primary_host: 127.0.0.1, old_primary_port: " + std::to_string(pg_.primaryPort()),
           false);
  ASSERT_TRUE(promoted.ok) << promoted.detail;
  EXPECT_FALSE(standbyInRecovery());
  pg_.query(
      pg_.standbyPort(),
      "CREATE TABLE after_promotion (x int); INSERT INTO after_promotion VALUES (1); SELECT 1");
  auto again = step(", allow_unfenced: true", true);
  EXPECT_FALSE(again.ok);
  EXPECT_NE(again.detail.find("not a standby"), std::string::npos) << again.detail;
}

TEST_F(PgPromote, RefusesWhenReplayLagIsOverTheThreshold) {
  pg_.query(pg_.standbyPort(), "SELECT pg_wal_replay_pause()");
  pg_.query(pg_.primaryPort(),
            "CREATE TABLE lagging AS SELECT generate_series(1, 20000) AS x; SELECT 1");
  ASSERT_TRUE(waitUntil(
      [&] {
        return std::stod(pg_.query(
                   pg_.standbyPort(),
                   "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())")) >
               100000;
      },
      10s));
  auto r = step(", max_lag_bytes: 65536, allow_unfenced: true", false);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("not replayed, over max_lag_bytes"), std::string::npos) << r.detail;
  EXPECT_TRUE(standbyInRecovery());
  pg_.query(pg_.standbyPort(), "SELECT pg_wal_replay_resume()");
}

TEST_F(PgPromote, RefusesAnUnreachableStandby) {
  auto r = step(", allow_unfenced: true", false, "pg_promote", freePort());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("standby 127.0.0.1:"), std::string::npos) << r.detail;
  EXPECT_TRUE(standbyInRecovery());
}

// The runbook's planned switchover on a plain pair: final sync, stop, promote, no loss.
TEST_F(PgPromote, FinalSyncThenStopThenPromoteLosesNothing) {
  const std::string old =
      ", old_primary_host: 127.0.0.1, old_primary_port: " + std::to_string(pg_.primaryPort());
  pg_.query(pg_.primaryPort(),
            "CREATE TABLE orders AS SELECT generate_series(1, 50000) AS id; SELECT 1");
  auto dry = step(old, true, "pg_final_sync");
  EXPECT_TRUE(dry.ok) << dry.detail;
  auto synced = step(old, false, "pg_final_sync");
  ASSERT_TRUE(synced.ok) << synced.detail;
  EXPECT_NE(synced.detail.find("replayed all of"), std::string::npos) << synced.detail;
  EXPECT_EQ(pg_.query(pg_.standbyPort(), "SELECT count(*) FROM orders"), "50000");
  pg_.stopPrimary();
  auto promoted = step(", max_lag_bytes: 0" + old, false);
  ASSERT_TRUE(promoted.ok) << promoted.detail;
  EXPECT_EQ(pg_.query(pg_.standbyPort(), "SELECT count(*) FROM orders"), "50000");
}

TEST_F(PgPromote, FinalSyncRefusesWhileTheOldPrimaryKeepsWriting) {
  pg_.query(pg_.primaryPort(), "CREATE TABLE ticks (x int); SELECT 1");
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    pqxx::connection c("host=127.0.0.1 port=" + std::to_string(pg_.primaryPort()) +
                       " user=postgres dbname=postgres");
    pqxx::nontransaction tx(c);
    for (int i = 0; i < 5000 && !stop; ++i) {  // bounded: at most ~5000 inserts
      tx.exec("INSERT INTO ticks VALUES (1)");
      ++written;
      std::this_thread::sleep_for(1ms);
    }
  });
  ASSERT_TRUE(waitUntil([&] { return written > 10; }, 5s));
  auto r = step(", rounds: 2, old_primary_host: 127.0.0.1, old_primary_port: " +
                    std::to_string(pg_.primaryPort()),
                false, "pg_final_sync");
  stop = true;
  writer.join();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("is still writing"), std::string::npos) << r.detail;
  EXPECT_TRUE(standbyInRecovery());
}

// dns against a real PowerDNS (sqlite backend) through its HTTP API.
TEST(DnsAction, PointsTheRecordAtTheNewPrimaryAndVerifies) {
  PdnsServer pdns;
  ActionRig rig;
  auto run = [&](const std::string& address, bool dry) {
    return rig.step(
        "action: dns, api_url: '" + pdns.apiUrl() +
            "', zone: hft.local., record: trading.hft.local., content: "
            "'{new_primary}', ttl: 5, api_key: '${HFTGUARD_IT_PDNS_KEY}'",
        dry, {"c", "n1", "", address, "", "", ""}, 30s,
        [](const std::string&) -> std::optional<std::string> { return PdnsServer::kApiKey; });
  };
  auto dry = run("127.0.0.2", true);
  EXPECT_TRUE(dry.ok) << dry.detail;
  EXPECT_NE(dry.detail.find("(absent)"), std::string::npos) << dry.detail;
  auto first = run("127.0.0.2", false);
  EXPECT_TRUE(first.ok) << first.detail;
  auto second = run("127.0.0.3", false);
  EXPECT_TRUE(second.ok) << second.detail;
  auto now = run("127.0.0.9", true);
  EXPECT_NE(now.detail.find("is 127.0.0.3"), std::string::npos) << now.detail;
}

}  // namespace

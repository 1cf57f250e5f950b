// pg_promote against a real PostgreSQL 15 primary + streaming standby.

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "hftguard/actions/action.hpp"
#include "hftguard/config/loader.hpp"
#include "hftguard/net/http_client.hpp"
#include "hftguard/net/worker_pool.hpp"

#include "servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

namespace {

class PgPromote : public ::testing::Test {
 protected:
  // Runs (or dry-runs) one pg_promote step with `extra` keys against the pair.
  actions::ActionResult step(const std::string& extra, bool dry_run) {
    auto r = config::loadConfigString(
        "node: {name: n1}\nplans:\n  p:\n    steps:\n      - {action: pg_promote, host: 127.0.0.1, "
        "port: " +
            std::to_string(pg_.standbyPort()) + ", user: postgres, timeout: 10s" + extra +
            "}\ncomponents:\n  c: {tier: cold, rto_target: 1m, checks: {t: {type: tcp, host: "
            "127.0.0.1, "
            "port: 1}}}\n",
        "pg.yaml");
    for (const auto& e : r.errors) ADD_FAILURE() << e.format();
    cfg_ = r.config;
    auto action = actions::makeAction(cfg_->findPlan("p")->steps.at(0),
                                      {"c", "n1", "", "", "", "", ""}, env_);
    std::optional<actions::ActionResult> result;
    auto done = [&](actions::ActionResult res) { result = res; };
    dry_run ? action->check(done) : action->run(done);
    while (!result) {
      if (io_.stopped()) io_.restart();
      io_.run_one_for(20ms);
    }
    return *result;
  }

  bool standbyInRecovery() {
    return pg_.query(pg_.standbyPort(), "SELECT pg_is_in_recovery()") == "t";
  }

  PostgresPair pg_;
  std::shared_ptr<const config::Config> cfg_;
  boost::asio::io_context io_;
  SystemClock clock_;
  net::HttpClient http_{io_};
  net::WorkerPool workers_{io_, 2};
  actions::ActionEnv env_{io_, http_, workers_, clock_};
};

TEST_F(PgPromote, DryRunThenPromoteAndWrite) {
  auto check = step(", max_lag_bytes: 1048576", true);
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
  auto again = step("", true);
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
  auto r = step(", max_lag_bytes: 65536", false);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("not replayed, over max_lag_bytes"), std::string::npos) << r.detail;
  EXPECT_TRUE(standbyInRecovery());
  pg_.query(pg_.standbyPort(), "SELECT pg_wal_replay_resume()");
}

}  // namespace

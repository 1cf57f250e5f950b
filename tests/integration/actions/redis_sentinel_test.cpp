// redis_sentinel against a real Redis master + replica and three Sentinels.

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "hftguard/actions/action.hpp"
#include "hftguard/config/loader.hpp"
#include "hftguard/net/http_client.hpp"
#include "hftguard/net/worker_pool.hpp"

#include "action_harness.hpp"
#include "ha_clusters.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

namespace {

class Sentinels : public ::testing::Test {
 protected:
  actions::ActionResult step(const std::string& extra, bool dry_run,
                             const std::vector<int>& ports) {
    std::string list;
    for (int p : ports)
      list += (list.empty() ? "" : ", ") + std::string("'127.0.0.1:") + std::to_string(p) + "'";
    auto r = config::loadConfigString(
        "node: {name: n1}\nplans:\n  p:\n    steps:\n      - {action: redis_sentinel, sentinels: "
        "[" +
            list + "], master_name: mymaster, timeout: 15s" + extra +
            "}\ncomponents:\n  c: {tier: cold, rto_target: 1m, checks: {t: {type: tcp, host: "
            "127.0.0.1, port: 1}}}\n",
        "sentinel.yaml");
    for (const auto& e : r.errors) ADD_FAILURE() << e.format();
    cfg_ = r.config;
    auto action = actions::makeAction(cfg_->findPlan("p")->steps.at(0), {}, env_);
    return runAction(io_, *action, dry_run, 20s);
  }

  std::vector<int> sentinelPorts() const { return group_.sentinelPorts(); }

  SentinelGroup group_;
  RedisServer& master_ = group_.master();
  RedisServer& replica_ = group_.replica();
  std::shared_ptr<const config::Config> cfg_;
  boost::asio::io_context io_;
  SystemClock clock_;
  net::HttpClient http_{io_};
  net::WorkerPool workers_{io_, 1};
  actions::ActionEnv env_{io_, http_, workers_, clock_};
};

TEST_F(Sentinels, TriggeredFailoverFollowsTheMajorityAndDemotesTheOldMaster) {
  auto check = step("", true, sentinelPorts());
  EXPECT_TRUE(check.ok) << check.detail;
  auto r = step(", trigger_failover: true, demote_old_master: true", false, sentinelPorts());
  ASSERT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.new_primary, "127.0.0.1:" + std::to_string(replica_.port()));
  EXPECT_EQ(r.old_primary, "127.0.0.1:" + std::to_string(master_.port()));
  // The old master stops taking writes at once, not ~11 s later.
  EXPECT_NE(master_.cli({"ROLE"}).find("slave"), std::string::npos);
  EXPECT_NE(master_.cli({"SET", "k", "v"}).find("READONLY"), std::string::npos);
  EXPECT_EQ(replica_.cli({"SET", "k", "v"}), "OK");
}

TEST_F(Sentinels, NoMajorityNoAnswer) {
  auto r = step("", true, {sentinelPorts()[0], freePort(), freePort()});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("no majority of 3 Sentinels"), std::string::npos) << r.detail;
}

}  // namespace

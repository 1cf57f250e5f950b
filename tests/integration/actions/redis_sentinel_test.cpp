// redis_sentinel against a real Redis master + replica and three Sentinels.

#include <gtest/gtest.h>

#include "hftguard/actions/action.hpp"

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
    for (int p : ports) list += (list.empty() ? "'" : ", '") + SentinelGroup::address(p) + "'";
    return rig_.step("action: redis_sentinel, sentinels: [" + list +
                         "], master_name: mymaster, timeout: 15s" + extra,
                     dry_run, {}, 20s);
  }

  std::vector<int> sentinelPorts() const { return group_.sentinelPorts(); }

  SentinelGroup group_;
  RedisServer& master_ = group_.master();
  RedisServer& replica_ = group_.replica();
  ActionRig rig_;
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

// A fence that failed earlier in the plan: the old master may still take writes, so no
// SENTINEL FAILOVER is asked for, and the master stays where it is.
TEST_F(Sentinels, NoFailoverIsAskedForPastAFailedFence) {
  actions::PlanContext ctx;
  ctx.fence_failed = true;
  auto r = rig_.step("action: redis_sentinel, sentinels: ['" +
                         SentinelGroup::address(sentinelPorts()[0]) + "', '" +
                         SentinelGroup::address(sentinelPorts()[1]) + "', '" +
                         SentinelGroup::address(sentinelPorts()[2]) +
                         "'], master_name: mymaster, timeout: 15s, trigger_failover: true",
                     false, ctx, 20s);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("fence step earlier in this plan failed"), std::string::npos) << r.detail;
  EXPECT_NE(master_.cli({"ROLE"}).find("master"), std::string::npos);
}

TEST_F(Sentinels, NoMajorityNoAnswer) {
  auto r = step("", true, {sentinelPorts()[0], freePort(), freePort()});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("no majority of 3 Sentinels"), std::string::npos) << r.detail;
}

}  // namespace

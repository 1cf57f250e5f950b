// The Sentinel watch catches up after a reconnect: a switch made while every subscription
// was down (announced to nobody listening) is reported once the watch is back.

#include "hftguard/probes/sentinel_watch.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "ha_clusters.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

namespace {

TEST(SentinelWatchCatchUp, ASwitchMissedWhileDisconnectedIsReportedOnReconnect) {
  SentinelGroup group;
  boost::asio::io_context io;
  SystemClock clock;
  config::FollowConfig cfg;
  cfg.type = "sentinel";
  for (int p : group.sentinelPorts()) cfg.sentinels.push_back(SentinelGroup::address(p));
  cfg.master_name = "mymaster";
  cfg.reconnect = 2s;  // and the failover happens while the loop is not even turning
  std::vector<probes::MasterSwitch> switches;
  probes::SentinelWatch watch(
      io, clock, "redis", cfg, [&](const probes::MasterSwitch& s) { switches.push_back(s); },
      nullptr);
  watch.start();
  auto turn = [&](std::chrono::milliseconds d, const std::function<bool()>& until) {
    const auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end && !until()) io.run_one_for(20ms);
    return until();
  };
  ASSERT_TRUE(turn(10s, [&] { return watch.linksUp() == 3; }));
  turn(1500ms, [] { return false; });  // the first catch-up: what is known, no switch
  EXPECT_TRUE(switches.empty());

  // Every subscription dropped by the Sentinels; the watch waits 6 s to reconnect.
  for (int p : group.sentinelPorts()) redisCli(p, {"CLIENT", "KILL", "TYPE", "pubsub"});
  ASSERT_TRUE(turn(5s, [&] { return watch.linksUp() == 0; }));
  const std::string replica = SentinelGroup::address(group.replica().port());
  redisCli(group.sentinelPorts()[0], {"SENTINEL", "FAILOVER", "mymaster"});
  // The switch is done while nobody listens (no majority of Sentinels says otherwise).
  auto said = [&](int port) {
    return redisCli(port, {"SENTINEL", "get-master-addr-by-name", "mymaster"})
               .find(std::to_string(group.replica().port())) != std::string::npos;
  };
  ASSERT_TRUE(waitUntil(
      [&] {
        int n = 0;
        for (int p : group.sentinelPorts()) n += said(p) ? 1 : 0;
        return n >= 2;
      },
      5s));
  EXPECT_EQ(watch.linksUp(), 0u) << "reconnected before the switch was done: nothing was missed";
  EXPECT_TRUE(switches.empty());

  ASSERT_TRUE(turn(15s, [&] { return !switches.empty(); })) << "the missed switch was not followed";
  ASSERT_EQ(switches.size(), 1u);
  EXPECT_EQ(switches[0].old_master, SentinelGroup::address(group.master().port()));
  EXPECT_EQ(switches[0].new_master, replica);
  EXPECT_EQ(switches[0].master_name, "mymaster");
  // The other links' catch-ups and Sentinels' repeats report nothing more.
  turn(2s, [] { return false; });
  EXPECT_EQ(switches.size(), 1u);
  watch.stop();
}

}  // namespace

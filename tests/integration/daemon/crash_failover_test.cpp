// End to end: hftguard run, the primary engine crashes, hftguard fails over by itself, and
// the event log holds the chain from check_failed to failover_completed with the RTO.

#include <fstream>

#include <gtest/gtest.h>


#include "event_file.hpp"
#include "process.hpp"
#include "servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

namespace {

TEST(CrashFailover, TheDaemonFailsOverByItselfAndRecordsTheChain) {
  RedisServer redis;
  EngineSim primary("primary", redis.port());
  EngineSim standby("standby");
  HaproxyServer lb(primary.port(), standby.port());
  EtcdServer etcd;
  etcd.put("service/trading/primary", "primary.hft.local");
  TempDir dir;
  const std::string events = dir.path() + "/failover_events.json";
  const std::string fe = "http://127.0.0.1:" + std::to_string(lb.frontendPort());
  const std::string config = dir.path() + "/hftguard.yaml";
  std::ofstream(config)
      << "node: {name: e2e}\n"
      << "event_log: {path: " << events << "}\n"
      << "maintenance: {path: " << dir.path() << "/maintenance.json}\n"
      << "control_api: {listen: 'off', socket: " << dir.path() << "/control.sock}\n"
      << "components:\n  trading_engine:\n    tier: hot\n    rto_target: 30s\n    plan: trading\n"
      << "    primary: primary.hft.local\n    standby: standby.hft.local\n    checks:\n"
      << "      health: {type: http, url: '" << primary.url("/health")
      << "', interval: 200ms, timeout: 150ms}\n"
      << "plans:\n  trading:\n    steps:\n"
      << "      - {name: verify_primary_down, action: http_check, url: '" << primary.url("/health")
      << "', expect: down}\n"
      << "      - {name: verify_standby_up, action: http_check, url: '" << standby.url("/health")
      << "', expect: up}\n"
      << "      - {name: promote_standby, action: http_request, url: '"
      << standby.url("/admin/promote") << "'}\n"
      << "      - {name: lb_primary_out, action: haproxy, socket: '" << lb.adminSocket()
      << "', backend: trading, server: primary, state: maint}\n"
      << "      - {name: lb_standby_in, action: haproxy, socket: '" << lb.adminSocket()
      << "', backend: trading, server: standby, state: ready}\n"
      << "      - {name: wait_frontend, action: http_check, url: '" << fe
      << "/health', expect: up, wait_until: true, poll_interval: 50ms, timeout: 5s}\n"
      << "      - {name: discovery, action: kv_put, store: etcd, endpoints: ['" << etcd.endpoint()
      << "'], key: service/trading/primary, value: '{new_primary}', prev_value: '{old_primary}'}\n"
      << "      - {name: test_order, action: e2e_order, url: '" << fe << "/api/orders/test'}\n";
  ChildProcess daemon({HFTGUARD_BINARY, "run", "--config", config},
                      {.log_file = dir.path() + "/run.log"});
  ASSERT_TRUE(waitUntil([&] { return hasEvent(events, "state_changed"); }, 10s));
  primary.setFault("crash");  // the engine process dies
  ASSERT_TRUE(waitUntil(
      [&] {
        for (const auto& e : readEvents(events)) {
          if (e.type == "failover_completed" || e.type == "failover_failed") return true;
        }
        return false;
      },
      30s))
      << "no failover outcome";
  daemon.stop();

  const auto all = readEvents(events);
  std::vector<std::string> chain;
  for (const auto& e : all) {
    if (chain.empty() || chain.back() != e.type) chain.push_back(e.type);
  }
  const std::vector<std::string> order = {"check_failed",     "failover_triggered",
                                          "failover_started", "step_started",
                                          "step_done",        "failover_completed"};
  std::size_t at = 0;
  for (const auto& type : chain) {
    if (at < order.size() && type == order[at]) ++at;
  }
  EXPECT_EQ(at, order.size()) << "chain out of order";
  ASSERT_EQ(all.back().type, "daemon_stopped");  // stopped after the plan, and said so
  const auto& last = all[all.size() - 2];
  ASSERT_EQ(last.type, "failover_completed") << last.reason;
  EXPECT_TRUE(last.fields["rto_met"].get<bool>());
  EXPECT_EQ(last.fields["rto_from"], "first failed sample");
  EXPECT_LT(last.fields["rto_ms"].get<double>(), 10000);
  RecordProperty("rto_ms", std::to_string(last.fields["rto_ms"].get<double>()));
  std::printf("measured RTO: %.0f ms\n", last.fields["rto_ms"].get<double>());
  std::size_t stepsDone = 0;
  for (const auto& e : all) {
    if (e.type == "step_done") {
      ++stepsDone;
      EXPECT_TRUE(e.fields.contains("duration_ms"));
    }
  }
  EXPECT_EQ(stepsDone, 8u);
  EXPECT_EQ(etcd.get("service/trading/primary"), "standby.hft.local");
  EXPECT_EQ(httpPost(fe + "/api/orders/test", "{\"symbol\":\"T\",\"quantity\":1,\"dry_run\":true}"),
            200);
}

}  // namespace

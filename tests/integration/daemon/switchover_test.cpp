// `hftguard switchover` of a database on a real two-member Patroni 3.0 cluster: the daemon
// checks that the candidate streams with little lag (under 1 MiB), holds automation, asks
// Patroni's leader to switch over, checks the new leader and that the old one rejoined as a
// replica, and the roles move; then back. (The trading engine's switchover, its refusals
// and dry run are in control_api_test.cpp.)

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "event_file.hpp"
#include "ha_clusters.hpp"
#include "process.hpp"
#include "servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

TEST(Switchover, MovesThePatroniLeaderAndBackWithEveryCheckRecorded) {
  PatroniCluster cluster;
  ASSERT_TRUE(cluster.waitHealthy(60s)) << cluster.cluster();
  const std::string first = cluster.leader();
  ASSERT_FALSE(first.empty());
  const std::string second = first == PatroniCluster::name(0) ? PatroniCluster::name(1)
                                                               : PatroniCluster::name(0);
  TempDir dir;
  const std::string events = dir.path() + "/failover_events.json";
  const std::string config = dir.path() + "/hftguard.yaml";
  std::filesystem::create_directories(dir.path() + "/secrets");
  std::ofstream(dir.path() + "/secrets/token") << "switchover-token-5678\n";
  auto api = [&](int i) { return cluster.apiUrl(i).substr(std::string("http://").size()); };
  std::ofstream(config)
      << "node: {name: db-host}\n"
      << "event_log: {path: " << events << "}\n"
      << "maintenance: {path: " << dir.path() << "/maintenance.json}\n"
      << "control_api: {listen: 'off', socket: " << dir.path()
      << "/control.sock, token_file: secrets/token}\n"
      << "components:\n  database:\n    tier: warm\n    rto_target: 60s\n    plan: pg_swap\n"
      << "    cooldown: 0s\n    flap_damping: {enabled: false}\n"
      << "    switchover: {plan: pg_swap, pre_checks: pg_pre, post_checks: pg_post, "
         "healthy_within: 30s}\n"
      << "    members:\n"
      << "      pg1: {host: 127.0.0.1, api: '" << api(0) << "'}\n"
      << "      pg2: {host: 127.0.0.1, api: '" << api(1) << "'}\n"
      << "    primary: " << first << "\n"
      << "    checks:\n"
      // Patroni's REST API: /primary answers 200 on the leader only, /replica on a replica.
      << "      leader: {type: http, url: 'http://{primary.api}/primary', interval: 200ms, "
         "timeout: 150ms}\n"
      << "    standby_checks:\n"
      << "      replica: {type: http, url: 'http://{standby.api}/replica', interval: 200ms, "
         "timeout: 150ms}\n"
      << "plans:\n"
      << "  pg_swap:\n    steps:\n"
      << "      - {name: switchover, action: patroni, urls: ['" << cluster.apiUrl(0) << "', '"
      << cluster.apiUrl(1) << "'], operation: switchover, leader: '{old_primary.name}', "
         "candidate: '{new_primary.name}', max_lag_bytes: 1048576, user: postgres, "
         "timeout: 30s}\n"
      << "  pg_pre:\n    steps:\n"
      // the runbook's "replication lag acceptable": Patroni's own lag check on the candidate
      // (waited for: a replica that just rejoined catches up in a moment). Not zero: a live
      // leader writes WAL of its own between two looks (CI saw 264 bytes).
      << "      - {name: candidate_lag_small, action: http_check, "
         "url: 'http://{new_primary.api}/replica?lag=1048576', expect: up, wait_until: true, "
         "timeout: 20s}\n"
      << "  pg_post:\n    steps:\n"
      << "      - {name: new_leader, action: http_check, url: 'http://{new_primary.api}/primary', "
         "expect: up}\n"
      << "      - {name: old_leader_replicates, action: http_check, "
         "url: 'http://{old_primary.api}/replica', expect: up, wait_until: true, timeout: 30s}\n";
  ChildProcess daemon({HFTGUARD_BINARY, "run", "--config", config},
                      {.log_file = dir.path() + "/run.log"});
  int calls = 0;
  auto cli = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{HFTGUARD_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--config", config});
    const std::string out = dir.path() + "/cli-" + std::to_string(++calls) + ".out";
    const int rc = runCommand(argv, {.log_file = out}, 120s);
    return std::pair{rc, readFile(out)};
  };
  auto ready = [&] {
    auto [rc, out] = cli({"status", "--json"});
    auto j = nlohmann::json::parse(out, nullptr, false);
    return rc == 0 && j.is_object() && j["components"]["database"]["health"] == "healthy" &&
           j["components"]["database"]["standby"].value("ready", false);
  };
  ASSERT_TRUE(waitUntil(ready, 30s)) << readFile(dir.path() + "/run.log");

  auto [rc, out] = cli({"switchover", "database", "--reason", "minor upgrade"});
  ASSERT_EQ(rc, 0) << out << readFile(dir.path() + "/run.log");
  for (const char* line : {"standby_ready: passed", "candidate_lag_small", "switchover",
                           "old_leader_replicates", "post-check healthy", "switchover_completed"}) {
    EXPECT_NE(out.find(line), std::string::npos) << line << "\n" << out;
  }
  EXPECT_EQ(cluster.leader(), second);
  EXPECT_EQ(cluster.query(first == "pg1" ? 0 : 1, "SELECT pg_is_in_recovery()"), "t");

  // The old leader replicates again (the post-check said so): returned, and switched back to.
  auto [mrc, mout] = cli({"member", "database", first, "--ready", "--reason", "replica again"});
  ASSERT_EQ(mrc, 0) << mout;
  ASSERT_TRUE(waitUntil(ready, 30s)) << readFile(dir.path() + "/run.log");
  auto [brc, bout] = cli({"switchover", "database"});
  ASSERT_EQ(brc, 0) << bout << readFile(dir.path() + "/run.log");
  EXPECT_EQ(cluster.leader(), first);

  std::size_t completed = 0, checks = 0, triggered = 0;
  for (const auto& e : readEvents(events)) {
    completed += e.type == "switchover_completed";
    checks += e.type == "switchover_check" && e.fields.value("ok", false);
    triggered += e.type == "failover_triggered";
  }
  EXPECT_EQ(completed, 2u);
  EXPECT_EQ(checks, 6u);  // primary_healthy, standby_ready, healthy: twice
  EXPECT_EQ(triggered, 0u) << "the switchover's own leader change was failed over";
  EXPECT_EQ(daemon.stop(), 0);
  ASSERT_TRUE(cluster.waitHealthy(60s)) << cluster.cluster();
}

// Real data-store failovers on loopback, hftguard's part beside the server's own:
//   PostgreSQL pair   pg_promote after the primary stopped (promotion + a write verified)
//   Patroni           switchover through the REST API; the leader's host killed: hftguard's
//                     failover step vs Patroni alone (both until the new leader takes a write)
//   Redis Sentinel    master killed: Sentinel alone until the replica takes writes;
//                     SENTINEL FAILOVER with the old master alive: how long it stays writable,
//                     Sentinel alone vs hftguard following +switch-master (hftguard run)
//
//   bench_datastore_failover [--runs 3] [--only pg|patroni|sentinel]

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>

#include "hftguard/actions/action.hpp"

#include "action_harness.hpp"
#include "event_file.hpp"
#include "ha_clusters.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

namespace {

double msSince(Steady::time_point t) {
  return std::chrono::duration<double, std::milli>(Steady::now() - t).count();
}

std::map<std::string, std::vector<double>> figures;

void record(const std::string& what, double ms) {
  figures[what].push_back(ms);
  std::printf("  %-62s %8.0f ms\n", what.c_str(), ms);
  std::fflush(stdout);
}

// One action step, given as the keys of a YAML flow map, run to its result.
struct StepRunner {
  ActionRig rig;
  actions::ActionResult run(const std::string& keys) { return rig.step(keys, false, {}, 60s); }
};

void check(const actions::ActionResult& r) {
  if (!r.ok) std::printf("  !! step failed: %s\n", r.detail.c_str());
}

bool writable(const std::function<std::string(const std::string&)>& query) {
  try {
    return query("SELECT pg_is_in_recovery()") == "f" && !query("SELECT txid_current()").empty();
  } catch (const std::exception&) {
    return false;
  }
}

void postgresPair(int runs) {
  std::printf("PostgreSQL 15 primary + streaming standby\n");
  for (int i = 0; i < runs; ++i) {
    PostgresPair pg;
    pg.stopPrimary();
    StepRunner s;
    const auto t = Steady::now();
    check(s.run("action: pg_promote, host: 127.0.0.1, port: " + std::to_string(pg.standbyPort()) +
                ", user: postgres, max_lag_bytes: 0, old_primary_host: 127.0.0.1, "
                "old_primary_port: " +
                std::to_string(pg.primaryPort()) + ", timeout: 30s"));
    record("hftguard pg_promote (preconditions, promote, write)", msSince(t));
  }
}

void patroni(int runs) {
  std::printf("Patroni 3.0, two members on etcd, ttl 10 / loop_wait 1 / retry_timeout 3\n");
  PatroniCluster cluster;
  StepRunner s;
  const std::string base = "action: patroni, user: postgres, timeout: 40s, urls: ['" +
                           cluster.apiUrl(0) + "', '" + cluster.apiUrl(1) + "']";
  auto indexOf = [](const std::string& name) { return name == PatroniCluster::name(0) ? 0 : 1; };
  for (int i = 0; i < runs; ++i) {
    cluster.waitHealthy(60s);
    const auto t = Steady::now();
    check(s.run(base + ", operation: switchover"));
    record("hftguard switchover (POST to the leader -> new leader writable)", msSince(t));
  }
  for (int i = 0; i < runs; ++i) {
    cluster.waitHealthy(60s);
    const int old = indexOf(cluster.leader());
    cluster.kill(old);
    const auto t = Steady::now();
    check(s.run(base + ", operation: failover"));
    record("leader host killed: hftguard failover step -> writable", msSince(t));
    cluster.restart(old);
  }
  for (int i = 0; i < runs; ++i) {
    cluster.waitHealthy(60s);
    const int old = indexOf(cluster.leader());
    cluster.kill(old);
    const auto t = Steady::now();
    const bool ok = waitUntil(
        [&] { return writable([&](const std::string& q) { return cluster.query(1 - old, q); }); },
        60s, 50ms);
    record(ok ? "leader host killed: Patroni alone -> writable"
              : "leader host killed: Patroni alone (gave up at 60 s)",
           msSince(t));
    cluster.restart(old);
  }
}

// SENTINEL FAILOVER with the old master alive: when the replica became master, when the
// old master first refused a write.
std::pair<Steady::time_point, Steady::time_point> liveSwitch(SentinelGroup& g) {
  redisCli(g.sentinelPorts()[0], {"SENTINEL", "FAILOVER", "mymaster"});
  std::optional<Steady::time_point> promoted, refused;
  const auto limit = Steady::now() + 40s;
  while ((!promoted || !refused) && Steady::now() < limit) {
    if (!promoted && g.replica().cli({"ROLE"}).starts_with("master")) promoted = Steady::now();
    if (!refused && g.master().cli({"SET", "k", "v"}).find("READONLY") != std::string::npos)
      refused = Steady::now();
  }
  return {promoted.value_or(limit), refused.value_or(limit)};
}

void sentinel(int runs) {
  std::printf("Redis 7 master + replica, three Sentinels (down-after 1 s, failover-timeout 5 s)\n");
  for (int i = 0; i < runs; ++i) {
    SentinelGroup g;
    g.master().stop();
    const auto t = Steady::now();
    waitUntil([&] { return g.replica().cli({"SET", "k", "v"}) == "OK"; }, 30s, 20ms);
    record("master killed: Sentinel alone -> replica takes writes", msSince(t));
    const std::string replica = "127.0.0.1\n" + std::to_string(g.replica().port());
    waitUntil(
        [&] {
          for (int p : g.sentinelPorts()) {
            if (redisCli(p, {"SENTINEL", "get-master-addr-by-name", "mymaster"}) != replica)
              return false;
          }
          return true;
        },
        30s, 20ms);
    record("master killed: Sentinel alone -> all three Sentinels agree", msSince(t));
  }
  for (int i = 0; i < runs; ++i) {
    SentinelGroup g;
    StepRunner s;
    const auto t = Steady::now();
    check(s.run("action: redis_sentinel, sentinels: [" + g.sentinelList() +
                "], master_name: mymaster, trigger_failover: true, timeout: 20s"));
    record("hftguard redis_sentinel (SENTINEL FAILOVER, verify, demote old)", msSince(t));
  }
  for (int i = 0; i < runs; ++i) {
    SentinelGroup g;
    auto [promoted, refused] = liveSwitch(g);
    record("live old master writable after the promotion: Sentinel alone",
           std::chrono::duration<double, std::milli>(refused - promoted).count());
  }
  for (int i = 0; i < runs; ++i) {
    SentinelGroup g;
    EtcdServer etcd;
    TempDir dir;
    const std::string events = dir.path() + "/events.json";
    const std::string config = dir.path() + "/hftguard.yaml";
    std::ofstream(config)
        << "node: {name: bench}\nevent_log: {path: " << events << "}\n"
        << "maintenance: {path: " << dir.path() << "/maintenance.json}\n"
        << "control_api: {listen: 'off', socket: " << dir.path() << "/control.sock}\n"
        << "components:\n  redis:\n    tier: hot\n    rto_target: 5s\n    plan: follow\n"
        << "    follow: {type: sentinel, sentinels: [" << g.sentinelList()
        << "], master_name: mymaster}\n"
        << "    checks: {replica: {type: tcp, host: 127.0.0.1, port: " << g.replica().port()
        << "}}\nplans:\n  follow:\n    steps:\n"
        << "      - {action: redis_sentinel, sentinels: [" << g.sentinelList()
        << "], master_name: mymaster}\n"
        << "      - {action: kv_put, store: etcd, endpoints: ['" << etcd.endpoint()
        << "'], key: redis/master, value: '{new_primary}'}\n";
    ChildProcess daemon({HFTGUARD_BINARY, "run", "--config", config},
                        {.log_file = dir.path() + "/run.log"});
    waitUntil([&] { return readFile(dir.path() + "/run.log").find("subscribed") != std::string::npos; },
              10s);
    std::this_thread::sleep_for(500ms);  // all three subscriptions
    const auto wallBefore = std::chrono::system_clock::now();
    const auto steadyBefore = Steady::now();
    auto [promoted, refused] = liveSwitch(g);
    record("live old master writable after the promotion: hftguard following",
           std::chrono::duration<double, std::milli>(refused - promoted).count());
    waitUntil([&] { return etcd.get("redis/master").has_value(); }, 10s);
    daemon.stop();
    for (const auto& e : readEvents(events)) {
      if (e.type == "failover_triggered") {
        // The announcement on the steady clock: wall offset from the same starting point.
        const auto announced = steadyBefore + (e.at - wallBefore);
        record("  of which Sentinel's promotion -> its +switch-master announcement",
               std::chrono::duration<double, std::milli>(announced - promoted).count());
        record("  of which announcement -> old master read-only (hftguard)",
               std::chrono::duration<double, std::milli>(refused - announced).count());
      }
      if (e.type == "failover_completed")
        record("  hftguard's plan (announcement -> discovery updated)", e.fields["rto_ms"]);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 3;
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--runs") runs = std::stoi(argv[i + 1]);
    if (std::string(argv[i]) == "--only") only = argv[i + 1];
  }
  runs = std::clamp(runs, 1, 20);
  if (only.empty() || only == "pg") postgresPair(runs);
  if (only.empty() || only == "patroni") patroni(runs);
  if (only.empty() || only == "sentinel") sentinel(runs);
  std::printf("\n%-64s %8s %8s %8s\n", "summary", "p50", "max", "runs");
  for (const auto& [what, ms] : figures) {
    std::vector<double> v = ms;
    std::sort(v.begin(), v.end());
    std::printf("%-64s %8.0f %8.0f %8zu\n", what.c_str(), v[v.size() / 2], v.back(), v.size());
  }
  return 0;
}

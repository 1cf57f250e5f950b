// redis and redis_key probes against a real Redis 7 master and replica.

#include <chrono>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "../../support/probe_harness.hpp"
#include "../../support/process.hpp"
#include "../../support/servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using probes::ProbeStatus;
using namespace std::chrono_literals;

namespace {

class RedisProbe : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    master_ = new RedisServer();
    replica_ = new RedisServer(master_->port());
  }
  static void TearDownTestSuite() {
    delete replica_;
    delete master_;
  }

  static std::string redis(const std::string& name, int port, const std::string& extra = "") {
    return "      " + name + ":\n        type: redis\n        host: 127.0.0.1\n        port: " +
           std::to_string(port) + "\n        timeout: 500ms\n        max_latency: 200ms\n" + extra;
  }
  static std::string key(const std::string& name, const std::string& extra) {
    return "      " + name + ":\n        type: redis_key\n        host: 127.0.0.1\n        port: " +
           std::to_string(master_->port()) + "\n        timeout: 500ms\n" + extra;
  }
  static std::string now(long offset_seconds = 0) {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count() +
                          offset_seconds);
  }

  static RedisServer* master_;
  static RedisServer* replica_;
};

RedisServer* RedisProbe::master_ = nullptr;
RedisServer* RedisProbe::replica_ = nullptr;

TEST_F(RedisProbe, MasterAndReplicaInTheirRoles) {
  ProbeHarness h(redis("m", master_->port(), "        expect_role: master\n") +
                 redis("r", replica_->port(), "        expect_role: replica\n"));
  auto m = h.run("m");
  EXPECT_EQ(m.status, ProbeStatus::Ok) << m.reason;
  EXPECT_EQ(m.value("is_master"), 1.0);
  EXPECT_TRUE(m.value("latency_ms").has_value());
  auto r = h.run("r");
  EXPECT_EQ(r.status, ProbeStatus::Ok) << r.reason;
}

TEST_F(RedisProbe, WrongRoleFails) {
  ProbeHarness h(redis("r", replica_->port(), "        expect_role: master\n"));
  auto r = h.run("r");
  EXPECT_EQ(r.status, ProbeStatus::Failed);
  EXPECT_NE(r.reason.find("is a replica, expected master"), std::string::npos) << r.reason;
}

TEST_F(RedisProbe, MemoryOverRatioFails) {
  master_->cli({"CONFIG", "SET", "maxmemory", "64mb"});
  ProbeHarness h(redis("m", master_->port(), "        max_memory_ratio: 1%\n"));
  auto r = h.run("m");
  master_->cli({"CONFIG", "SET", "maxmemory", "0"});
  EXPECT_EQ(r.status, ProbeStatus::Failed);
  EXPECT_NE(r.reason.find("of maxmemory"), std::string::npos) << r.reason;
  EXPECT_TRUE(r.value("memory_ratio").has_value());
}

TEST_F(RedisProbe, StoppedHungAndGarbageTargets) {
  BlackHole hole;
  GarbageServer junk("HTTP/1.1 400 Bad Request\r\n\r\n");
  ProbeHarness h(redis("stopped", freePort()) + redis("hung", hole.port()) +
                 redis("junk", junk.port()));
  auto stopped = h.run("stopped");
  EXPECT_EQ(stopped.status, ProbeStatus::Failed);
  EXPECT_NE(stopped.reason.find("refused"), std::string::npos) << stopped.reason;
  auto hung = h.run("hung");
  EXPECT_EQ(hung.status, ProbeStatus::Timeout);
  EXPECT_GE(hung.latency, 500ms);
  EXPECT_LT(hung.latency, 600ms);
  auto junkResult = h.run("junk");
  EXPECT_EQ(junkResult.status, ProbeStatus::Failed) << junkResult.reason;
}

TEST_F(RedisProbe, FlagEquals) {
  ProbeHarness h(
      key("flag",
          "        key: trading:enabled\n        condition: equals\n        expect: \"true\"\n"));
  master_->cli({"SET", "trading:enabled", "true"});
  EXPECT_EQ(h.run("flag").status, ProbeStatus::Ok);
  master_->cli({"SET", "trading:enabled", "false"});
  auto off = h.run("flag");
  EXPECT_EQ(off.status, ProbeStatus::Failed);
  EXPECT_EQ(off.reason, "trading:enabled is 'false', expected 'true'");
  master_->cli({"DEL", "trading:enabled"});
  EXPECT_EQ(h.run("flag").reason, "trading:enabled is not set");
}

TEST_F(RedisProbe, TimestampFreshness) {
  ProbeHarness h(key(
      "md", "        key: last_market_update\n        condition: fresh\n        max_age: 5s\n"));
  master_->cli({"SET", "last_market_update", now(-1)});
  auto fresh = h.run("md");
  EXPECT_EQ(fresh.status, ProbeStatus::Ok) << fresh.reason;
  master_->cli({"SET", "last_market_update", now(-30)});
  auto stale = h.run("md");
  EXPECT_EQ(stale.status, ProbeStatus::Failed);
  EXPECT_NE(stale.reason.find("stale"), std::string::npos);
  EXPECT_GE(*stale.value("age_seconds"), 29.0);
  master_->cli({"SET", "last_market_update", "not-a-number"});
  EXPECT_EQ(h.run("md").status, ProbeStatus::Failed);
  master_->cli({"DEL", "last_market_update"});
  master_->cli({"RPUSH", "last_market_update", "x"});  // wrong type: a Redis error reply
  auto wrongType = h.run("md");
  EXPECT_EQ(wrongType.status, ProbeStatus::Failed);
  EXPECT_NE(wrongType.reason.find("WRONGTYPE"), std::string::npos) << wrongType.reason;
  master_->cli({"DEL", "last_market_update"});
}

TEST_F(RedisProbe, NumberBelowAndInformationalReport) {
  ProbeHarness h(
      key("orders",
          "        key: active_order_count\n        condition: below\n        max_value: 10000\n") +
      key("last",
          "        key: last_order_timestamp\n        condition: report\n        informational: "
          "true\n"));
  master_->cli({"SET", "active_order_count", "20000"});
  auto high = h.run("orders");
  EXPECT_EQ(high.status, ProbeStatus::Failed);
  EXPECT_EQ(high.value("value"), 20000.0);
  master_->cli({"SET", "active_order_count", "12"});
  EXPECT_EQ(h.run("orders").status, ProbeStatus::Ok);
  master_->cli({"SET", "last_order_timestamp", now(-90)});
  auto last = h.run("last");
  EXPECT_EQ(last.status, ProbeStatus::Ok);
  EXPECT_TRUE(last.informational);
  EXPECT_GE(*last.value("age_seconds"), 89.0);
}

}  // namespace

// Connection reuse, as for PostgreSQL: one connection serves a check's runs, a fresh one
// every `reconnect_every` runs, and a lost connection is replaced within the run.
// Counted by the server (INFO stats: total_connections_received; each redis-cli call is a
// connection of its own).
class RedisSession : public ::testing::Test {
 protected:
  // Clients connected now, redis-cli's own connection not counted.
  static int openClients(const RedisServer& r) {
    int n = 0;
    std::istringstream lines(r.cli({"CLIENT", "LIST"}));
    for (std::string line; std::getline(lines, line);) {
      n += !line.empty() && line.find("cmd=client") == std::string::npos;
    }
    return n;
  }
  static long connections(const RedisServer& r) {
    const std::string info = r.cli({"INFO", "stats"});
    const std::string key = "total_connections_received:";
    const auto at = info.find(key);
    return at == std::string::npos ? -1 : std::stol(info.substr(at + key.size()));
  }
  static std::string checks(int port, const std::string& extra) {
    const std::string target = "        host: 127.0.0.1\n        port: " +
                               std::to_string(port) + "\n        timeout: 1s\n" + extra;
    return "      ping:\n        type: redis\n        max_latency: 1s\n" + target +
           "      flag:\n        type: redis_key\n        key: hftguard:test:flag\n"
           "        condition: report\n" +
           target;
  }
};

TEST_F(RedisSession, OneConnectionServesManyRuns) {
  RedisServer redis;
  ProbeHarness h(checks(redis.port(), "        reconnect_every: 1000\n"));
  const long before = connections(redis);
  for (int i = 0; i < 20; ++i) {
    auto p = h.run("ping");
    ASSERT_EQ(p.status, ProbeStatus::Ok) << p.reason;
    auto f = h.run("flag");
    ASSERT_EQ(f.status, ProbeStatus::Ok) << f.reason;
  }
  EXPECT_EQ(connections(redis) - before - 1, 2) << "one connection per check";
  EXPECT_EQ(openClients(redis), 2) << redis.cli({"CLIENT", "LIST"});
}

TEST_F(RedisSession, AFreshConnectionEveryNRuns) {
  RedisServer redis;
  ProbeHarness h(checks(redis.port(), "        reconnect_every: 3\n"));
  const long before = connections(redis);
  for (int i = 0; i < 7; ++i) ASSERT_EQ(h.run("ping").status, ProbeStatus::Ok);
  EXPECT_EQ(connections(redis) - before - 1, 3) << "runs 1, 4 and 7 connect";
  // The replaced connections are closed, not only let go of (their pending read kept them).
  EXPECT_TRUE(waitUntil([&] { return openClients(redis) == 1; }, 5s))
      << "a replaced connection was left open: " << redis.cli({"CLIENT", "LIST"});
}

// A check that ends (the daemon reloads or stops, `hftguard probe` exits) closes its kept
// connection.
TEST_F(RedisSession, AnEndedCheckClosesItsConnection) {
  RedisServer redis;
  {
    ProbeHarness h(checks(redis.port(), ""));
    ASSERT_EQ(h.run("ping").status, ProbeStatus::Ok);
    ASSERT_EQ(h.run("flag").status, ProbeStatus::Ok);
    ASSERT_EQ(openClients(redis), 2);
  }
  EXPECT_TRUE(waitUntil([&] { return openClients(redis) == 0; }, 5s))
      << redis.cli({"CLIENT", "LIST"});
}

// `hftguard probe` answers and exits although its Redis checks keep a connection (a read
// stays pending on it, so the loop never runs out of work by itself).
TEST_F(RedisSession, HftguardProbeExitsWithAKeptConnection) {
  RedisServer redis;
  TempDir dir;
  const std::string config = dir.path() + "/hftguard.yaml";
  std::ofstream(config) << "node: {name: ops}\n"
                        << "event_log: {path: " << dir.path() << "/events.json}\n"
                        << "maintenance: {path: " << dir.path() << "/maintenance.json}\n"
                        << "control_api: {listen: 'off', socket: " << dir.path() << "/control.sock}\n"
                        << "components:\n  cache:\n    tier: warm\n    rto_target: 2m\n    automation: manual\n"
                        << "    checks:\n" << checks(redis.port(), "");
  const auto started = std::chrono::steady_clock::now();
  const int code = runCommand({HFTGUARD_BINARY, "probe", "--config", config, "--all"},
                              {.log_file = dir.path() + "/out.txt"}, 20s);
  EXPECT_EQ(code, 0) << readFile(dir.path() + "/out.txt");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s) << "hftguard probe hung";
}

// A killed connection or a Redis restarted between runs costs no failed run; a Redis that
// is down still fails the run, from the fresh connection's refusal.
TEST_F(RedisSession, ALostConnectionIsReplacedWithinTheRun) {
  RedisServer redis;
  ProbeHarness h(checks(redis.port(), ""));
  ASSERT_EQ(h.run("ping").status, ProbeStatus::Ok);
  ASSERT_EQ(h.run("flag").status, ProbeStatus::Ok);
  redis.cli({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  auto p = h.run("ping");
  EXPECT_EQ(p.status, ProbeStatus::Ok) << p.reason;
  auto f = h.run("flag");
  EXPECT_EQ(f.status, ProbeStatus::Ok) << f.reason;

  redis.restart(0);
  p = h.run("ping");
  EXPECT_EQ(p.status, ProbeStatus::Ok) << p.reason;

  redis.stop();
  p = h.run("ping");
  EXPECT_EQ(p.status, ProbeStatus::Failed) << p.reason;
  EXPECT_NE(p.reason.find("refused"), std::string::npos) << p.reason;
}

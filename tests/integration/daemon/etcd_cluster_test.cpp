// Three daemons, one three-member etcd cluster: one leader acts, the others stand by; a
// failover is run by exactly one daemon (the three event logs compared) and moves the roles
// in etcd, which every daemon adopts; the second failover goes back once the old primary
// is returned; a killed leader is replaced within the lease TTL; a restarted daemon reads
// the roles back from etcd; a leader killed mid-plan leaves its plan in etcd, and the next
// leader re-verifies and finishes it - the failover completes once, its promote runs once.

#include <atomic>
#include <filesystem>
#include <mutex>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "event_file.hpp"
#include "http_receiver.hpp"
#include "process.hpp"
#include "servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

namespace {

struct Node {
  std::string name;
  std::string dir;
  std::string config;
  std::string events() const { return dir + "/failover_events.json"; }
  ChildProcess process;
};

std::size_t count(const std::string& events, const std::string& type) {
  std::size_t n = 0;
  for (const auto& e : readEvents(events)) n += e.type == type;
  return n;
}

class EtcdDaemons : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) {
      Node n;
      n.name = "n" + std::to_string(i + 1);
      n.dir = dir_.path() + "/" + n.name;
      std::filesystem::create_directories(n.dir);
      n.config = n.dir + "/hftguard.yaml";
      nodes_.push_back(std::move(n));
    }
    writeConfigs(
        "      - {name: old_down, action: http_check, url: "
        "'http://{old_primary.api}/health', expect: down, timeout: 1s}\n"
        "      - {name: promote, action: http_request, url: "
        "'http://{new_primary.api}/admin/promote', timeout: 1s}\n"
        "      - {name: mark, action: exec, argv: [/usr/bin/touch, '" +
        dir_.path() + "/epoch-{epoch}-{node}-{new_primary}'], timeout: 1s}\n");
  }

  // Every daemon's config, with the plan `move` made of `steps`; "KVURL" in them is
  // kv_[node] when set (each daemon's own way to etcd).
  void writeConfigs(std::string steps) {
    auto api = [](const EngineSim& e) { return "127.0.0.1:" + std::to_string(e.port()); };
    std::string endpoints;
    for (const auto& e : etcd_.endpoints()) endpoints += (endpoints.empty() ? "'" : ", '") + e + "'";
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      Node& n = nodes_[i];
      std::string mine = steps;
      for (auto at = mine.find("KVURL"); i < kv_.size() && at != std::string::npos;
           at = mine.find("KVURL")) {
        mine.replace(at, 5, kv_[i]);
      }
      std::ofstream(n.config)
          << "node: {name: " << n.name << "}\n"
          << "event_log: {path: " << n.events() << "}\n"
          << "maintenance: {path: " << n.dir << "/maintenance.json}\n"
          << "control_api: {listen: 'off', socket: " << n.dir << "/control.sock}\n"
          << "coordination: {type: etcd, endpoints: [" << endpoints
          << "], lease_ttl: " << ttl_ << ", cluster: test}\n"
          << "components:\n  engine:\n    tier: hot\n    rto_target: 30s\n    plan: move\n"
          << "    cooldown: 0s\n    flap_damping: {enabled: false}\n"
          << "    members:\n"
          << "      engine_a: {host: 127.0.0.1, api: '" << api(a_) << "'}\n"
          << "      engine_b: {host: 127.0.0.1, api: '" << api(b_) << "'}\n"
          << "    primary: engine_a\n"
          << "    checks:\n"
          << "      health: {type: http, url: 'http://{primary.api}/health', interval: 100ms, "
             "timeout: 80ms}\n"
          << "plans:\n  move:\n    steps:\n"
          << mine;
    }
  }

  void start(Node& n) {
    n.process = ChildProcess({HFTGUARD_BINARY, "run", "--config", n.config},
                             {.log_file = n.dir + "/run.log"});
  }

  // Every daemon started; true once one leads and each has a state for the component.
  bool startAll() {
    for (auto& n : nodes_) start(n);
    return waitUntil([&] { return leader() >= 0; }, 15s) &&
           waitUntil([&] { return total("state_changed") >= 3; }, 10s);
  }

  // Every daemon's log has an event of `type`.
  bool everyone(const std::string& type) {
    for (const auto& n : nodes_) {
      if (count(n.events(), type) == 0) return false;
    }
    return true;
  }

  // Events of `type` that are not a dry run's (a leader re-verifies a plan it takes up).
  std::size_t real(const std::string& type) {
    std::size_t sum = 0;
    for (const auto& n : nodes_) {
      for (const auto& e : readEvents(n.events()))
        sum += e.type == type && !e.fields.value("dry_run", false);
    }
    return sum;
  }

  std::size_t total(const std::string& type) {
    std::size_t sum = 0;
    for (const auto& n : nodes_) sum += count(n.events(), type);
    return sum;
  }

  // The node whose latest leadership event says it leads; -1 when none.
  int leader() {
    int found = -1;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      std::string last;
      for (const auto& e : readEvents(nodes_[i].events())) {
        if (e.type == "leader_elected" || e.type == "leader_lost") last = e.type;
      }
      // A frozen (SIGSTOP) daemon cannot record that it stopped leading: not counted.
      if (last == "leader_elected" && nodes_[i].process.running() &&
          static_cast<int>(i) != frozen_) {
        EXPECT_EQ(found, -1) << "two daemons say they lead";
        found = static_cast<int>(i);
      }
    }
    return found;
  }

  // What each daemon recorded, for a failure's message.
  std::string dump() {
    std::string out;
    for (const auto& n : nodes_) {
      out += "--- " + n.name + "\n";
      for (const auto& e : readEvents(n.events())) out += e.type + ": " + e.reason + "\n";
      const std::string log = readFile(n.dir + "/run.log");
      out += log.substr(log.size() > 2000 ? log.size() - 2000 : 0);
    }
    return out;
  }

  // Every running daemon has adopted roles with this primary and epoch.
  bool allSee(const std::string& primary, int epoch) {
    for (auto& n : nodes_) {
      if (!n.process.running()) continue;
      bool seen = false;
      for (const auto& e : readEvents(n.events())) {
        if (e.type == "roles_changed") {
          seen = e.fields["roles"]["primary"] == primary && e.fields["roles"]["epoch"] == epoch;
        }
      }
      if (!seen) return false;
    }
    return true;
  }

  std::vector<std::string> kv_;
  std::string ttl_ = "4s";  // the leader lease's
  int frozen_ = -1;         // a daemon the test froze (SIGSTOP)
  EtcdCluster etcd_;
  EngineSim a_{"primary"};
  EngineSim b_{"standby"};
  TempDir dir_;
  std::vector<Node> nodes_;
};

TEST_F(EtcdDaemons, OneLeaderActsTheRolesAlternateAndAKilledLeaderIsReplaced) {
  ASSERT_TRUE(startAll()) << dump();

  // 1. engine_a dies: exactly one daemon - the leader - fails over; all adopt the roles.
  a_.setFault("crash");
  ASSERT_TRUE(waitUntil([&] { return total("failover_completed") >= 1; }, 30s))
      << "no failover\n" << dump();
  ASSERT_TRUE(waitUntil([&] { return allSee("engine_b", 1); }, 10s)) << "roles not adopted";
  EXPECT_EQ(total("failover_started"), 1u);
  EXPECT_EQ(total("failover_completed"), 1u);
  const int first = leader();
  ASSERT_GE(first, 0);
  EXPECT_EQ(count(nodes_[first].events(), "failover_started"), 1u);
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/epoch-1-" + nodes_[first].name + "-engine_b"));
  auto roles = nlohmann::json::parse(etcd_.get("/hftguard/test/roles/engine").value_or("{}"));
  EXPECT_EQ(roles["primary"], "engine_b");
  EXPECT_EQ(roles["fenced"], nlohmann::json::array({"engine_a"}));

  // 2. engine_a is rebuilt as a standby and returned (through etcd); engine_b dies; the
  //    failover goes back to engine_a, again run by one daemon.
  a_.restart();
  httpPost(a_.url("/admin/demote"), "");
  ASSERT_EQ(runCommand({HFTGUARD_BINARY, "member", "--config", nodes_[2].config, "engine",
                        "engine_a", "--ready"},
                       {.log_file = dir_.path() + "/member.log"}),
            0)
      << readFile(dir_.path() + "/member.log");
  ASSERT_TRUE(waitUntil(
      [&] {
        auto r = nlohmann::json::parse(etcd_.get("/hftguard/test/roles/engine").value_or("{}"));
        return r["standbys"] == nlohmann::json::array({"engine_a"});
      },
      5s));
  ASSERT_TRUE(waitUntil(
      [&] {
        for (auto& n : nodes_) {
          nlohmann::json last;
          for (const auto& e : readEvents(n.events())) {
            if (e.type == "roles_changed") last = e.fields["roles"]["standbys"];
          }
          if (last != nlohmann::json::array({"engine_a"})) return false;
        }
        return true;
      },
      5s))
      << "not every daemon adopted the returned member\n" << dump();
  b_.setFault("crash");
  ASSERT_TRUE(waitUntil([&] { return total("failover_completed") >= 2; }, 30s))
      << "no second failover\n" << dump();
  ASSERT_TRUE(waitUntil([&] { return allSee("engine_a", 2); }, 10s));
  EXPECT_EQ(total("failover_started"), 2u);
  b_.restart();
  httpPost(b_.url("/admin/demote"), "");

  // 3. kill -9 the leader: another daemon takes over within the lease TTL (4 s) and a poll.
  const int was = leader();
  ASSERT_GE(was, 0);
  const auto killed = std::chrono::steady_clock::now();
  nodes_[was].process.kill(SIGKILL);
  nodes_[was].process.waitExit(5s);
  ASSERT_TRUE(waitUntil([&] { return leader() >= 0 && leader() != was; }, 10s))
      << "no new leader";
  const auto took = std::chrono::steady_clock::now() - killed;
  EXPECT_LT(took, 8s);  // ttl + a poll + a campaign, with room for a loaded CI machine
  std::printf("leader replaced in %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));

  // 4. The killed daemon starts again and reads the roles back from etcd.
  const std::size_t before = count(nodes_[was].events(), "roles_changed");
  start(nodes_[was]);
  ASSERT_TRUE(waitUntil([&] { return count(nodes_[was].events(), "roles_changed") > before; },
                        10s));
  auto back = readEvents(nodes_[was].events()).back();
  for (const auto& e : readEvents(nodes_[was].events())) {
    if (e.type == "roles_changed") back = e;
  }
  EXPECT_EQ(back.fields["by"], "etcd");
  EXPECT_EQ(back.fields["roles"]["primary"], "engine_a");
  EXPECT_EQ(back.fields["roles"]["epoch"], 2);
  EXPECT_EQ(back.fields["roles"]["fenced"], nlohmann::json::array({"engine_b"}));
  for (auto& n : nodes_) n.process.stop();
  EXPECT_EQ(total("failover_started"), 2u);  // never a second run of either failover
}

// The leader is killed (-9), or frozen (SIGSTOP) until long after its lease expired, while
// its plan waits between the check that the old primary is down and the promote. Its journal
// is in etcd, after step 1. The next leader finds it, re-verifies the remaining steps, runs
// them as the same failover (epoch 1), and moves the roles once; the decision it had left to
// the old leader is not run again from the top. A frozen leader that wakes up acts no more:
// its next progress write is refused by etcd (it no longer leads) and its plan stops there.
class EtcdDaemonsMidPlan : public EtcdDaemons, public ::testing::WithParamInterface<int> {};

TEST_P(EtcdDaemonsMidPlan, TheNextLeaderFinishesThePlanOnce) {
  const int signal = GetParam();
  const std::string promotions = dir_.path() + "/promotions";
  writeConfigs(
      "      - {name: old_down, action: http_check, url: "
      "'http://{old_primary.api}/health', expect: down, timeout: 1s}\n"
      "      - {name: drain, action: exec, argv: [/bin/sleep, '0.8'], timeout: 1s}\n"
      "      - {name: settle, action: exec, argv: [/bin/sleep, '0.3'], timeout: 1s}\n"
      "      - {name: promote, action: exec, argv: [/bin/sh, -c, 'echo {epoch} {node} >> " +
      promotions + "'], timeout: 1s}\n");
  ASSERT_TRUE(startAll()) << dump();
  const int was = leader();

  a_.setFault("crash");
  ASSERT_TRUE(waitUntil(
      [&] {
        for (const auto& e : readEvents(nodes_[was].events())) {
          if (e.type == "step_started" && e.fields.value("step", "") == "drain") return true;
        }
        return false;
      },
      20s))
      << "the leader's plan never reached its drain step\n" << dump();
  nodes_[was].process.kill(signal);
  if (signal == SIGKILL) nodes_[was].process.waitExit(5s);
  // The journal it left: after step 1, for epoch 1.
  const auto left = nlohmann::json::parse(etcd_.get("/hftguard/test/plans/engine").value_or("{}"));
  EXPECT_EQ(left.value("steps_done", 99), 1) << left.dump();
  EXPECT_EQ(left.value("epoch", 0), 1) << left.dump();
  EXPECT_EQ(left.value("node", ""), nodes_[was].name);
  EXPECT_FALSE(left.value("first_failure", "").empty()) << left.dump();

  ASSERT_TRUE(waitUntil([&] { return real("failover_completed") >= 1; }, 30s))
      << "the interrupted failover was not finished\n" << dump();
  // Its RTO spans the takeover: from the first failed sample the old leader journaled, past
  // the old leader's lease (4 s).
  for (const auto& n : nodes_) {
    for (const auto& e : readEvents(n.events())) {
      if (e.type != "failover_completed" || e.fields.value("dry_run", false)) continue;
      EXPECT_EQ(e.fields.value("rto_from", ""), "first failed sample") << e.fields.dump();
      EXPECT_GT(e.fields.value("rto_ms", 0.0), 3000.0) << e.fields.dump();
    }
  }
  int now = -1;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (count(nodes_[i].events(), "failover_resumed") > 0) now = static_cast<int>(i);
  }
  ASSERT_GE(now, 0) << dump();
  EXPECT_NE(now, was);
  EXPECT_EQ(count(nodes_[now].events(), "failover_resumed"), 1u) << dump();
  if (signal == SIGSTOP) {  // wakes up long after its lease expired
    nodes_[was].process.kill(SIGCONT);
    EXPECT_TRUE(waitUntil(
        [&] { return count(nodes_[was].events(), "failover_interrupted") >= 1; }, 10s))
        << "the woken leader did not stop its plan\n" << dump();
  }
  ASSERT_TRUE(waitUntil([&] { return allSee("engine_b", 1); }, 10s)) << dump();
  EXPECT_EQ(real("failover_completed"), 1u) << dump();
  std::size_t fresh = 0, resumed = 0;  // real runs, from the top or after step 1
  for (const auto& n : nodes_) {
    for (const auto& e : readEvents(n.events())) {
      if (e.type != "failover_started" || e.fields.value("dry_run", false)) continue;
      (e.fields.contains("resumed_after") ? resumed : fresh) += 1;
      if (e.fields.contains("resumed_after")) {
        EXPECT_EQ(e.fields["resumed_after"], 1);
      }
    }
  }
  EXPECT_EQ(fresh, 1u) << "the failover was run from the top twice\n" << dump();
  EXPECT_EQ(resumed, 1u) << dump();
  // The promote ran once, for epoch 1, by the new leader.
  EXPECT_EQ(readFile(promotions), "1 " + nodes_[now].name + "\n");
  auto roles = nlohmann::json::parse(etcd_.get("/hftguard/test/roles/engine").value_or("{}"));
  EXPECT_EQ(roles["primary"], "engine_b");
  EXPECT_EQ(roles["epoch"], 1);
  EXPECT_TRUE(waitUntil([&] { return !etcd_.get("/hftguard/test/plans/engine").has_value(); }, 5s))
      << "the finished plan's journal is still in etcd";
  // Nothing more happens: the decision left to the old leader is not run afterwards.
  std::this_thread::sleep_for(1500ms);
  for (auto& n : nodes_) n.process.stop();
  EXPECT_EQ(real("failover_completed"), 1u) << dump();
  EXPECT_EQ(readFile(promotions), "1 " + nodes_[now].name + "\n");
}

// A plan left in etcd whose remaining steps do not re-verify (a tool is missing): the leader
// holds the component (failover_interrupted) and runs nothing; the operator's
// `hftguard failover --abandon` drops the journal in etcd, the leader lets the component go,
// and the next failure fails over normally.
TEST_F(EtcdDaemons, APlanThatDoesNotReVerifyIsHeldUntilAbandoned) {
  const std::string tool = dir_.path() + "/tool";
  writeConfigs(
      "      - {name: old_down, action: http_check, url: "
      "'http://{old_primary.api}/health', expect: down, timeout: 1s}\n"
      "      - {name: switch, action: exec, argv: ['" + tool + "'], timeout: 1s}\n"
      "      - {name: mark, action: exec, argv: [/usr/bin/touch, '" + dir_.path() +
      "/epoch-{epoch}-{node}-{new_primary}'], timeout: 1s}\n");
  nlohmann::json journal = {{"component", "engine"}, {"plan", "move"}, {"trigger", "t-0"},
                            {"steps_done", 1},       {"last_step", "old_down"},
                            {"epoch", 1},            {"node", "n9"},
                            {"members",
                             {{"old_primary.name", "engine_a"}, {"new_primary.name", "engine_b"}}}};
  etcd_.put("/hftguard/test/plans/engine", journal.dump());
  for (auto& n : nodes_) start(n);
  ASSERT_TRUE(waitUntil([&] { return total("failover_interrupted") >= 1; }, 20s))
      << "the plan left in etcd was not looked at\n" << dump();
  const int now = leader();
  ASSERT_GE(now, 0);
  EXPECT_EQ(count(nodes_[now].events(), "failover_interrupted"), 1u);
  for (const auto& e : readEvents(nodes_[now].events())) {
    if (e.type == "failover_interrupted") {
      EXPECT_NE(e.reason.find("did not re-verify"), std::string::npos) << e.reason;
      EXPECT_NE(e.reason.find("--abandon"), std::string::npos) << e.reason;
    }
  }
  EXPECT_EQ(real("failover_started"), 0u) << dump();
  EXPECT_TRUE(etcd_.get("/hftguard/test/plans/engine").has_value());
  // `hftguard status` shows the leader and the plan that holds the component.
  const std::string st = dir_.path() + "/status.json";
  ASSERT_EQ(runCommand({HFTGUARD_BINARY, "status", "--config", nodes_[1].config, "--json"},
                       {.log_file = st}),
            0)
      << readFile(st);
  const auto status = nlohmann::json::parse(readFile(st), nullptr, false);
  EXPECT_EQ(status["coordination"]["leader"], nodes_[now].name) << status.dump();
  ASSERT_EQ(status["daemons"].size(), 3u) << status.dump();  // what each daemon sees
  EXPECT_EQ(status["daemons"][nodes_[now].name]["leading"], true) << status.dump();
  EXPECT_EQ(status["daemons"]["n1"]["health"]["engine"], "healthy") << status.dump();
  EXPECT_EQ(status["components"]["engine"]["plan_in_flight"]["node"], "n9") << status.dump();
  EXPECT_EQ(status["components"]["engine"]["plan_in_flight"]["steps_done"], 1);
  EXPECT_EQ(status["components"]["engine"]["roles"]["primary"], "engine_a");

  // --resume is the leader's job with etcd: refused with what to do instead.
  const std::string out = dir_.path() + "/cli.log";
  EXPECT_NE(runCommand({HFTGUARD_BINARY, "failover", "--config", nodes_[0].config, "engine",
                        "--resume"},
                       {.log_file = out}),
            0);
  EXPECT_NE(readFile(out).find("resumes an interrupted plan itself"), std::string::npos)
      << readFile(out);
  ASSERT_EQ(runCommand({HFTGUARD_BINARY, "failover", "--config", nodes_[0].config, "engine",
                        "--abandon", "--reason", "switched by hand"},
                       {.log_file = out}),
            0)
      << readFile(out);
  EXPECT_FALSE(etcd_.get("/hftguard/test/plans/engine").has_value());
  EXPECT_EQ(count(nodes_[0].events(), "failover_abandoned"), 1u);
  EXPECT_NE(runCommand({HFTGUARD_BINARY, "failover", "--config", nodes_[0].config, "engine",
                        "--abandon"},
                       {.log_file = out}),
            0)
      << "a second --abandon found a plan";

  // Released: the next failure is failed over, from the top.
  std::filesystem::copy_file("/bin/true", tool);
  ASSERT_TRUE(waitUntil([&] { return readFile(nodes_[now].dir + "/run.log").find("automation is "
                                                                                    "back") !=
                                     std::string::npos; },
                        5s))
      << dump();
  a_.setFault("crash");
  ASSERT_TRUE(waitUntil([&] { return real("failover_completed") >= 1; }, 30s)) << dump();
  EXPECT_EQ(real("failover_started"), 1u);
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/epoch-1-" + nodes_[leader()].name +
                                      "-engine_b"));
  for (auto& n : nodes_) n.process.stop();
}

// The leader's kv_put is on its way to etcd (held up in the network: a proxy of its own that
// holds it) when the leader is killed. The next leader takes the plan up and writes the same
// key at the same epoch; then the old leader's write arrives - and etcd refuses it: the
// epoch key holds the later leader's token. The key keeps the new leader's value.
TEST_F(EtcdDaemons, ADeposedLeadersDelayedKvPutIsRefusedByTheEpochCompare) {
  const std::string key = "/svc/engine/primary";
  std::atomic<int> hold{-1};         // the node whose first transaction is held
  std::atomic<bool> arrived{false};  // ... and it came
  std::mutex mu;
  std::string late_answer;           // etcd's answer to it, once forwarded
  std::vector<std::unique_ptr<HttpReceiver>> proxies;
  for (int i = 0; i < 3; ++i) {
    proxies.push_back(std::make_unique<HttpReceiver>([&, i](const ReceivedRequest& r) -> Reply {
      const bool held = i == hold.load() && r.target == "/v3/kv/txn" && !arrived.exchange(true);
      if (held) {  // until another leader's write is there (bounded)
        waitUntil([&] { return etcd_.get(key).value_or("").find("@n") != std::string::npos &&
                               etcd_.get(key).value_or("").find("@n" + std::to_string(i + 1)) ==
                                   std::string::npos; },
                  30s);
      }
      long status = 0;
      auto body = httpSend("POST", etcd_.endpoints()[0] + r.target, r.body, &status);
      if (held) {
        std::lock_guard lock(mu);
        late_answer = body.value_or("(no answer)");
      }
      return {static_cast<int>(status == 0 ? 502 : status), body.value_or("")};
    }));
    kv_.push_back(proxies.back()->url());
  }
  writeConfigs(
      "      - {name: old_down, action: http_check, url: "
      "'http://{old_primary.api}/health', expect: down, timeout: 1s}\n"
      "      - {name: publish, action: kv_put, store: etcd, endpoints: ['KVURL'], key: " + key +
      ", value: '{new_primary}@{node}', epoch: '{epoch}', timeout: 1s}\n"
      "      - {name: mark, action: exec, argv: [/usr/bin/touch, '" + dir_.path() +
      "/epoch-{epoch}-{node}-{new_primary}'], timeout: 1s}\n");
  ASSERT_TRUE(startAll()) << dump();
  const int was = leader();
  hold = was;
  a_.setFault("crash");
  ASSERT_TRUE(waitUntil([&] { return arrived.load(); }, 20s))
      << "the leader's kv_put never left\n" << dump();
  nodes_[was].process.kill(SIGKILL);
  nodes_[was].process.waitExit(5s);

  ASSERT_TRUE(waitUntil([&] { return real("failover_completed") >= 1; }, 30s)) << dump();
  ASSERT_TRUE(waitUntil(
      [&] {
        std::lock_guard lock(mu);
        return !late_answer.empty();
      },
      30s))
      << "the held write was never forwarded";
  int now = leader();
  ASSERT_GE(now, 0);
  EXPECT_NE(now, was);
  {
    std::lock_guard lock(mu);
    EXPECT_NE(late_answer.find("\"header\""), std::string::npos)
        << "the held write got no answer from etcd: " << late_answer;
    EXPECT_EQ(late_answer.find("\"succeeded\":true"), std::string::npos)
        << "etcd took the deposed leader's write: " << late_answer;
  }
  EXPECT_EQ(etcd_.get(key), "engine_b@" + nodes_[now].name);
  const std::string fence = etcd_.get(key + ".epoch").value_or("");
  EXPECT_TRUE(fence.starts_with("00000000000000000001.")) << fence;
  EXPECT_EQ(real("failover_completed"), 1u) << dump();
  for (auto& n : nodes_) n.process.stop();
}

// A daemon that left a failover to the leader keeps that decision only while the failure
// lasts: once the leader's failover moved the roles, it is gone. Later - the old primary
// returned, the component in maintenance, its new primary down for the work - the leader
// stops and another takes over: nothing from the old incident runs, under maintenance.
TEST_F(EtcdDaemons, ALeftDecisionEndsWithItsFailureAndNeverRunsUnderMaintenance) {
  ASSERT_TRUE(startAll()) << dump();
  a_.setFault("crash");
  ASSERT_TRUE(waitUntil([&] { return real("failover_completed") >= 1; }, 30s)) << dump();
  ASSERT_TRUE(waitUntil([&] { return allSee("engine_b", 1); }, 10s));
  EXPECT_GE(total("failover_standby"), 1u);  // the others left it to the leader
  a_.restart();
  httpPost(a_.url("/admin/demote"), "");
  const std::string out = dir_.path() + "/ops.log";
  ASSERT_EQ(runCommand({HFTGUARD_BINARY, "member", "--config", nodes_[0].config, "engine",
                        "engine_a", "--ready"},
                       {.log_file = out}),
            0)
      << readFile(out);
  ASSERT_EQ(runCommand({HFTGUARD_BINARY, "maintenance", "start", "--config", nodes_[0].config,
                        "--component", "engine", "--for", "10m", "--reason", "patching b"},
                       {.log_file = out}),
            0)
      << readFile(out);
  ASSERT_TRUE(waitUntil([&] { return everyone("maintenance_started"); }, 5s)) << dump();
  b_.setFault("crash");  // the work on the primary: failed, and nobody may fail it over
  ASSERT_TRUE(waitUntil([&] { return total("failover_suppressed") >= 3; }, 10s)) << dump();
  const int was = leader();
  ASSERT_GE(was, 0);
  nodes_[was].process.stop();  // SIGTERM: its lease is revoked, another leads at once
  ASSERT_TRUE(waitUntil([&] { return leader() >= 0 && leader() != was; }, 10s)) << dump();
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(total("failover_taken_over"), 0u) << dump();
  EXPECT_EQ(real("failover_started"), 1u) << dump();
  for (auto& n : nodes_) n.process.stop();
}

// The leader is frozen (SIGSTOP) before the primary fails: the others decide and leave the
// failover to it. An operator puts the component in maintenance meanwhile: the next leader
// keeps the decision it had left, waiting (failover_skipped, held by maintenance), and runs
// it once the window ends while the component is still failed (failover_taken_over) -
// once. The frozen one, woken, acts no more.
TEST_F(EtcdDaemons, AFailoverLeftToAFrozenLeaderWaitsOutMaintenanceAndIsTakenOverOnce) {
  ttl_ = "10s";  // time for the operator's window before the frozen leader's lease expires
  writeConfigs(
      "      - {name: old_down, action: http_check, url: "
      "'http://{old_primary.api}/health', expect: down, timeout: 1s}\n"
      "      - {name: promote, action: http_request, url: "
      "'http://{new_primary.api}/admin/promote', timeout: 1s}\n");
  ASSERT_TRUE(startAll()) << dump();
  const int frozen = leader();
  const int other = (frozen + 1) % 3;
  nodes_[frozen].process.kill(SIGSTOP);
  frozen_ = frozen;
  a_.setFault("crash");
  ASSERT_TRUE(waitUntil([&] { return total("failover_standby") >= 2; }, 10s)) << dump();
  const std::string out = dir_.path() + "/ops.log";
  ASSERT_EQ(runCommand({HFTGUARD_BINARY, "maintenance", "start", "--config", nodes_[other].config,
                        "--component", "engine", "--for", "10m", "--reason", "looking first"},
                       {.log_file = out}),
            0)
      << readFile(out);
  ASSERT_EQ(leader(), -1) << "the window came after the frozen leader's lease expired (a slow "
                             "machine): what this test needs did not happen\n"
                          << dump();
  ASSERT_TRUE(waitUntil([&] { return leader() >= 0 && leader() != frozen; }, 15s)) << dump();
  const int next = leader();
  ASSERT_TRUE(waitUntil(
      [&] {
        for (const auto& e : readEvents(nodes_[next].events())) {
          if (e.type == "failover_skipped" && e.fields.value("held_by", "") == "maintenance")
            return true;
        }
        return false;
      },
      5s))
      << dump();
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(real("failover_started"), 0u) << dump();
  ASSERT_EQ(runCommand({HFTGUARD_BINARY, "maintenance", "end", "--config", nodes_[other].config,
                        "--component", "engine"},
                       {.log_file = out}),
            0)
      << readFile(out);
  ASSERT_TRUE(waitUntil([&] { return real("failover_completed") >= 1; }, 15s)) << dump();
  EXPECT_EQ(count(nodes_[next].events(), "failover_taken_over"), 1u) << dump();
  EXPECT_EQ(count(nodes_[frozen].events(), "failover_started"), 0u);
  nodes_[frozen].process.kill(SIGCONT);
  frozen_ = -1;
  ASSERT_TRUE(waitUntil([&] { return allSee("engine_b", 1); }, 10s)) << dump();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(real("failover_started"), 1u) << dump();
  EXPECT_EQ(real("failover_completed"), 1u) << dump();
  for (auto& n : nodes_) n.process.stop();
}

// With etcd, maintenance is the cluster's: one `hftguard maintenance start` (from any host's
// config) holds every daemon - the leader's failover is suppressed - and one `end` releases
// them all.
TEST_F(EtcdDaemons, OneMaintenanceCommandHoldsEveryDaemon) {
  ASSERT_TRUE(startAll()) << dump();
  const std::string out = dir_.path() + "/maintenance.log";
  ASSERT_EQ(runCommand({HFTGUARD_BINARY, "maintenance", "start", "--config", nodes_[2].config,
                        "--component", "engine", "--for", "10m", "--reason", "patching"},
                       {.log_file = out}),
            0)
      << readFile(out);
  EXPECT_NE(readFile(out).find("cluster test"), std::string::npos) << readFile(out);
  ASSERT_TRUE(waitUntil([&] { return everyone("maintenance_started"); }, 5s))
      << "not every daemon applied the cluster's window\n" << dump();
  ASSERT_EQ(runCommand({HFTGUARD_BINARY, "maintenance", "list", "--config", nodes_[0].config},
                       {.log_file = out}),
            0);
  EXPECT_NE(readFile(out).find("patching  [cluster test]"), std::string::npos) << readFile(out);

  const int lead = leader();
  ASSERT_GE(lead, 0);
  a_.setFault("crash");  // in maintenance: detected and recorded, never failed over
  ASSERT_TRUE(waitUntil([&] { return count(nodes_[lead].events(), "failover_suppressed") >= 1; },
                        10s))
      << dump();
  for (const auto& e : readEvents(nodes_[lead].events())) {
    if (e.type == "failover_suppressed") {
      EXPECT_EQ(e.fields.value("suppressed_by", ""), "maintenance");
    }
  }
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(real("failover_started"), 0u) << dump();
  for (const auto& n : nodes_) {  // one window, applied once by each daemon
    EXPECT_EQ(count(n.events(), "maintenance_started"), 1u) << n.name << "\n" << dump();
  }

  ASSERT_EQ(runCommand({HFTGUARD_BINARY, "maintenance", "end", "--config", nodes_[1].config,
                        "--component", "engine"},
                       {.log_file = out}),
            0)
      << readFile(out);
  EXPECT_TRUE(waitUntil([&] { return everyone("maintenance_ended"); }, 5s)) << dump();
  for (auto& n : nodes_) n.process.stop();
}

INSTANTIATE_TEST_SUITE_P(KilledOrFrozen, EtcdDaemonsMidPlan, ::testing::Values(SIGKILL, SIGSTOP),
                         [](const auto& p) {
                           return std::string(p.param == SIGKILL ? "Killed" : "Frozen");
                         });

}  // namespace

// Partitions with three daemons on one three-member etcd cluster (docs/safety.md), cut on
// loopback by proxies the test holds: each daemon reaches etcd, and the primary engine, only
// through a proxy of its own that the test can cut (a cut proxy closes every connection
// without an answer, as a dropped link does to a request; watches are refused, so the
// daemons read etcd every 200 ms). The multi-host namespace version is the partition drill.
//  - One observer cut off from the primary: no failover, the leader says the observer
//    disagrees. A real crash, seen by all: one failover, with who saw what recorded.
//  - The primary's host cut off from etcd and from the others: it fences its primary itself
//    before its lease can expire; the leader on the other side promotes only after that, and
//    says why (partition_detected); at no instant do both engines act as primary.

#include <atomic>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "event_file.hpp"
#include "http_receiver.hpp"
#include "netns_lab.hpp"
#include "process.hpp"
#include "servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

namespace {

// Forwards to `target` until cut; cut, every request goes unanswered.
class CutProxy {
 public:
  explicit CutProxy(std::string target)
      : target_(std::move(target)), receiver_([this](const ReceivedRequest& r) -> Reply {
          if (cut_.load() || r.target.starts_with("/v3/watch")) return {0, ""};
          long status = 0;
          auto body = httpSend(r.method, target_ + r.target, r.body, &status);
          return {static_cast<int>(status == 0 ? 502 : status), body.value_or("")};
        }) {}
  std::string url() const { return receiver_.url(); }
  std::string hostPort() const { return url().substr(7); }
  void cut(bool on) { cut_ = on; }

 private:
  std::string target_;
  std::atomic<bool> cut_{false};
  HttpReceiver receiver_;
};

struct Node {
  std::string name;
  std::string dir;
  std::string config;
  std::string events() const { return dir + "/failover_events.json"; }
  std::unique_ptr<CutProxy> etcd;      // its way to etcd
  std::unique_ptr<CutProxy> engine_a;  // its way to engine_a
  ChildProcess process;
};

std::vector<events::Event> ofType(const std::string& path, const std::string& type) {
  std::vector<events::Event> out;
  for (auto& e : readEvents(path)) {
    if (e.type == type) out.push_back(std::move(e));
  }
  return out;
}

std::string roleOf(const EngineSim& e) {
  auto body = httpSend("GET", e.url("/admin/state"), "");
  auto j = nlohmann::json::parse(body.value_or("{}"), nullptr, false);
  return j.is_object() ? j.value("role", "") : "";
}

class Partitions : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) {
      Node n;
      n.name = "n" + std::to_string(i + 1);
      n.dir = dir_.path() + "/" + n.name;
      std::filesystem::create_directories(n.dir);
      n.config = n.dir + "/hftguard.yaml";
      n.etcd = std::make_unique<CutProxy>(etcd_.endpoints()[static_cast<std::size_t>(i)]);
      n.engine_a = std::make_unique<CutProxy>("http://127.0.0.1:" + std::to_string(a_.port()));
      writeConfig(n);
      nodes_.push_back(std::move(n));
    }
  }

  void TearDown() override {
    for (auto& n : nodes_) n.process.stop();
  }

  // engine_a runs on n1's host, engine_b on n2's; each daemon reaches engine_a through its
  // own proxy. The lease is 6 s: a cut-off daemon self-fences after 4.5 s (the default
  // self_fence_after), its 500 ms plan ends before the 6 s lease less the 600 ms margin.
  void writeConfig(const Node& n) {
    std::ofstream(n.config)
        << "node: {name: " << n.name << "}\n"
        << "event_log: {path: " << n.events() << "}\n"
        << "maintenance: {path: " << n.dir << "/maintenance.json}\n"
        << "control_api: {listen: 'off', socket: " << n.dir << "/control.sock}\n"
        << "coordination: {type: etcd, endpoints: ['" << n.etcd->url()
        << "'], lease_ttl: 6s, cluster: test}\n"
        << "components:\n  engine:\n    tier: hot\n    rto_target: 30s\n    plan: move\n"
        << "    cooldown: 0s\n    flap_damping: {enabled: false}\n"
        << "    self_fence: fence_here\n"
        << "    members:\n"
        << "      engine_a: {host: 127.0.0.1, api: '" << n.engine_a->hostPort()
        << "', node: n1}\n"
        << "      engine_b: {host: 127.0.0.1, api: '127.0.0.1:" << b_.port() << "', node: n2}\n"
        << "    primary: engine_a\n"
        << "    checks:\n"
        << "      health: {type: http, url: 'http://{primary.api}/health', interval: 100ms, "
           "timeout: 80ms}\n"
        << partitionPlans();
  }

  bool startAll() {
    for (auto& n : nodes_) {
      n.process = ChildProcess({HFTGUARD_BINARY, "run", "--config", n.config},
                               {.log_file = n.dir + "/run.log"});
    }
    // ... and each has reported (the leader knows every daemon, as after any start-up).
    return waitUntil([&] { return leader() >= 0; }, 20s) &&
           waitUntil([&] { return total("state_changed") >= 3; }, 10s) &&
           waitUntil(
               [&] {
                 for (const auto& n : nodes_) {
                   if (!etcd_.get("/hftguard/test/daemons/" + n.name)) return false;
                 }
                 return true;
               },
               10s);
  }

  std::size_t total(const std::string& type) {
    std::size_t sum = 0;
    for (const auto& n : nodes_) sum += ofType(n.events(), type).size();
    return sum;
  }

  // The daemon whose latest leadership event says it leads, among those not cut off.
  int leader() {
    int found = -1;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      std::string last;
      for (const auto& e : readEvents(nodes_[i].events())) {
        if (e.type == "leader_elected" || e.type == "leader_lost") last = e.type;
      }
      if (last == "leader_elected" && static_cast<int>(i) != cut_off_) found = static_cast<int>(i);
    }
    return found;
  }

  std::string dump() {
    std::string out;
    for (const auto& n : nodes_) {
      out += "--- " + n.name + "\n";
      for (const auto& e : readEvents(n.events())) out += e.type + ": " + e.reason + "\n";
      const std::string log = readFile(n.dir + "/run.log");
      out += log.substr(log.size() > 3000 ? log.size() - 3000 : 0);
    }
    return out;
  }

  int cut_off_ = -1;  // the daemon cut off from etcd, if any
  EtcdCluster etcd_;
  EngineSim a_{"primary"};
  EngineSim b_{"standby"};
  TempDir dir_;
  std::vector<Node> nodes_;
};

TEST_F(Partitions, ALoneObserverCutFromThePrimaryFailsNothingOverAndACrashSeenByAllDoes) {
  ASSERT_TRUE(startAll()) << dump();
  const int lead = leader();
  ASSERT_GE(lead, 0);
  // The leader itself loses the primary: its own decider triggers, and the others see it up.
  nodes_[static_cast<std::size_t>(lead)].engine_a->cut(true);
  ASSERT_TRUE(waitUntil([&] { return total("observer_disagrees") >= 1; }, 15s)) << dump();
  const Node& l = nodes_[static_cast<std::size_t>(lead)];
  auto waiting = ofType(l.events(), "failover_waiting");
  ASSERT_EQ(waiting.size(), 1u) << dump();
  EXPECT_EQ(waiting[0].fields.value("for", ""), "quorum");
  auto dis = ofType(l.events(), "observer_disagrees");
  ASSERT_EQ(dis.size(), 1u);
  EXPECT_EQ(dis[0].fields["down_by"], nlohmann::json::array({l.name})) << dis[0].reason;
  EXPECT_EQ(dis[0].fields["up_by"].size(), 2u) << dis[0].reason;
  std::this_thread::sleep_for(1s);  // nothing follows
  EXPECT_EQ(total("failover_started"), 0u) << dump();
  EXPECT_EQ(roleOf(a_), "primary");
  EXPECT_EQ(roleOf(b_), "standby");

  // Back: the waiting decision ends with the outage.
  nodes_[static_cast<std::size_t>(lead)].engine_a->cut(false);
  ASSERT_TRUE(waitUntil([&] { return !ofType(l.events(), "failover_skipped").empty(); }, 10s))
      << dump();
  EXPECT_EQ(ofType(l.events(), "failover_skipped")[0].fields.value("held_by", ""), "quorum");

  // A failure every daemon sees (its health answers 500; its admin API, the fence's stop,
  // still works): one failover, and the decision says who saw it down.
  a_.setFault("http500");
  ASSERT_TRUE(waitUntil([&] { return total("failover_completed") >= 1; }, 20s)) << dump();
  EXPECT_EQ(total("failover_started"), 1u) << dump();
  auto reached = ofType(nodes_[static_cast<std::size_t>(leader())].events(), "quorum_reached");
  ASSERT_FALSE(reached.empty()) << dump();
  EXPECT_GE(reached.back().fields["quorum"]["down_by"].size(), 2u) << reached.back().reason;
  EXPECT_TRUE(reached.back().fields["quorum"]["reached"].get<bool>());
}

TEST_F(Partitions, ACutOffPrimaryHostFencesItselfBeforeTheOtherSidePromotes) {
  ASSERT_TRUE(startAll()) << dump();
  // n1 (engine_a's host) loses etcd and the others; the others lose engine_a. n1 still
  // reaches its own engine, which still takes orders there.
  cut_off_ = 0;
  nodes_[0].etcd->cut(true);
  nodes_[1].engine_a->cut(true);
  nodes_[2].engine_a->cut(true);

  ASSERT_TRUE(waitUntil([&] { return total("failover_completed") >= 1; }, 40s)) << dump();
  // n1 fenced engine_a by itself, before its lease could have expired.
  auto lost = ofType(nodes_[0].events(), "etcd_lost");
  ASSERT_EQ(lost.size(), 1u) << dump();
  auto fenced = ofType(nodes_[0].events(), "self_fence_completed");
  ASSERT_EQ(fenced.size(), 1u) << dump();
  EXPECT_EQ(roleOf(a_), "standby") << "the self-fence demoted it";
  // ... and reported the partition: engine failed there by the network_partition rule.
  bool partition_rule = false;
  for (const auto& e : ofType(nodes_[0].events(), "failover_triggered"))
    partition_rule = partition_rule || e.fields.value("rule", "") == "network_partition";
  EXPECT_TRUE(partition_rule) << dump();

  // The other side's leader promoted engine_b only after that, on that evidence.
  const int lead = leader();
  ASSERT_GE(lead, 1) << dump();
  const Node& l = nodes_[static_cast<std::size_t>(lead)];
  auto detected = ofType(l.events(), "partition_detected");
  ASSERT_EQ(detected.size(), 1u) << dump();
  EXPECT_EQ(detected[0].fields.value("host_node", ""), "n1");
  EXPECT_EQ(detected[0].fields.value("side", ""), "majority");
  events::Event promote;
  for (const auto& e : ofType(l.events(), "step_started")) {
    if (e.fields.value("step", "") == "promote") promote = e;
  }
  ASSERT_FALSE(promote.type.empty()) << dump();
  EXPECT_LT(fenced[0].at, promote.at) << "engine_b promoted before engine_a fenced itself";
  EXPECT_LT(fenced[0].at, detected[0].at);
  auto done = ofType(l.events(), "step_done");
  bool fence_on_evidence = false;
  for (const auto& e : done) {
    fence_on_evidence = fence_on_evidence ||
                        (e.fields.value("step", "") == "fence" &&
                         e.reason.find("its host fenced itself") != std::string::npos);
  }
  EXPECT_TRUE(fence_on_evidence) << dump();
  EXPECT_EQ(roleOf(b_), "primary");
  EXPECT_EQ(total("failover_completed"), 1u) << dump();

  // Healed: n1 reaches etcd again and adopts the new roles; engine_a stays fenced.
  cut_off_ = -1;
  for (auto& n : nodes_) {
    n.etcd->cut(false);
    n.engine_a->cut(false);
  }
  ASSERT_TRUE(waitUntil([&] { return !ofType(nodes_[0].events(), "etcd_regained").empty(); },
                        15s))
      << dump();
  ASSERT_TRUE(waitUntil(
      [&] {
        for (const auto& e : ofType(nodes_[0].events(), "roles_changed")) {
          if (e.fields["roles"]["primary"] == "engine_b") return true;
        }
        return false;
      },
      15s))
      << dump();
  EXPECT_EQ(roleOf(a_), "standby");
  EXPECT_EQ(total("failover_completed"), 1u);
}

}  // namespace

// The partition drill (Jepsen-style) on real network namespaces (docs/safety.md): three hosts,
// each with an etcd member and an hftguard daemon; engine_a (primary) on h1, engine_b on h2,
// h3 the witness. Each scenario cuts links - a host's link down, or nftables drops between two
// hosts - and the checker reads every engine's role history (the shared monotonic clock) and
// every daemon's event log afterwards:
//  - no instant with two engines acting as primary;
//  - no failover started without a quorum of observers (decided by a minority);
//  - every daemon's roles only ever move to a higher epoch;
//  - a failover does happen when the primary's host is cut off for longer than the lease
//    TTL plus detection.
// Random schedules: HFTGUARD_PARTITION_RUNS (default 1) runs from HFTGUARD_PARTITION_SEED
// (default: the time), each seed printed so a failure replays.

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "netns_lab.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

namespace {

constexpr int kTtl = 6;  // the daemons' lease, seconds

// The daemon under test; bench/partition_batch points this at a copy.
std::string hftguardBinary() {
  const char* env = std::getenv("HFTGUARD_PARTITION_HFTGUARD");
  return env != nullptr ? env : HFTGUARD_BINARY;
}

struct Verdict {
  std::size_t failovers = 0;
  double double_primary_ms = 0;
  double self_fence_ms = -1;  // the slowest self-fence's run, -1 none
  double handover_ms = -1;    // engine_a stopped being primary this long before engine_b began
  // No primary after the heal because both engines are fenced (a failover, then the new
  // primary's host cut off too): the leader records failover_skipped "no standby ready" and
  // pages; returning a fenced member is an operator's (`hftguard member --ready`).
  bool needs_operator = false;
  std::vector<std::string> problems;
};

// The checker: what the histories and the logs say, after the run.
Verdict check(NetnsLab& lab) {
  Verdict v;
  const History h = lab.history();
  v.double_primary_ms = static_cast<double>(h.double_primary_ns) / 1e6;
  if (h.double_primary_ns > 0) {
    v.problems.push_back(fmt::format("two primaries for {:.1f} ms", v.double_primary_ms));
  }
  const auto& a = h.primary.at("engine_a");
  const auto& b = h.primary.at("engine_b");
  // Healed and settled, someone trades: a primary that fenced itself was failed over.
  const std::int64_t end = std::max(a.empty() ? 0 : a.back().to_ns, b.empty() ? 0 : b.back().to_ns);
  const int open = (!a.empty() && a.back().to_ns == end) + (!b.empty() && b.back().to_ns == end);
  if (end == 0 || open == 0 || end + 1'000'000'000 < NetnsLab::nowNs()) {
    for (int host = 1; host <= lab.hosts(); ++host) {
      std::string last;  // the leader's last word on the failover it was asked for
      for (const auto& e : lab.eventsOf(host)) {
        if (e.type == "failover_completed" || e.type == "failover_started") last.clear();
        if (e.type == "failover_skipped" && e.fields.value("no_standby", false)) last = e.type;
      }
      v.needs_operator = v.needs_operator || !last.empty();
    }
    if (!v.needs_operator) v.problems.push_back("no engine is primary after the partition healed");
  }
  if (!a.empty() && !b.empty() && a.front().to_ns <= b.front().from_ns) {
    v.handover_ms = static_cast<double>(b.front().from_ns - a.front().to_ns) / 1e6;
  }
  for (int host = 1; host <= lab.hosts(); ++host) {
    std::uint64_t epoch = 0;
    bool quorum = false;
    std::optional<WallTime> fence_started;
    for (const auto& e : lab.eventsOf(host)) {
      if (e.fields.value("dry_run", false)) continue;
      if (e.type == "roles_changed") {
        const std::uint64_t now = e.fields["roles"].value("epoch", std::uint64_t{0});
        if (now < epoch) {
          v.problems.push_back(fmt::format("{}: roles went back from epoch {} to {}",
                                           lab.node(host), epoch, now));
        }
        epoch = std::max(epoch, now);
      }
      if (e.type == "quorum_reached") quorum = e.fields["quorum"].value("reached", false);
      if (e.type == "failover_resumed") quorum = true;  // its first leader had the quorum
      if (e.type == "failover_started" && !e.fields.value("self_fence", false)) {
        if (!quorum && e.fields.value("resumed_after", 0) == 0) {
          v.problems.push_back(lab.node(host) + ": a failover started without a quorum");
        }
        quorum = false;
      }
      if (e.type == "failover_completed") ++v.failovers;
      if (e.type == "self_fence_started") fence_started = e.at;
      if (e.type == "self_fence_completed" && fence_started) {
        v.self_fence_ms = std::max(
            v.self_fence_ms,
            std::chrono::duration<double, std::milli>(e.at - *fence_started).count());
      }
    }
  }
  return v;
}

void report(const std::string& scenario, const Verdict& v) {
  std::cout << fmt::format(
      "partition {}: failovers {}, double-primary {:.1f} ms, self-fence {}, handover {}{}\n",
      scenario, v.failovers, v.double_primary_ms,
      v.self_fence_ms < 0 ? std::string("none") : fmt::format("{:.0f} ms", v.self_fence_ms),
      v.handover_ms < 0 ? std::string("none")
                        : fmt::format("engine_a stopped {:.0f} ms before engine_b began",
                                      v.handover_ms),
      v.needs_operator ? "; both engines fenced: no standby ready, an operator returns one"
                       : "");
}

class NetnsPartitions : public ::testing::Test {
 protected:
  virtual void prepare(NetnsLab&) {}  // before the lab starts
  void SetUp() override {
    lab_ = std::make_unique<NetnsLab>(hftguardBinary(), 3, kTtl);
    prepare(*lab_);
    ASSERT_TRUE(lab_->start()) << lab_->dump();
  }
  void TearDown() override { lab_.reset(); }

  // After the cuts: healed, settled, checked.
  Verdict settle(const std::string& scenario) {
    lab_->heal();
    std::this_thread::sleep_for(2s);
    // Liveness: within two lease TTLs of the heal some engine trades again (a primary that
    // fenced itself is failed over); the checker says so if not.
    waitUntil(
        [&] {
          const History h = lab_->history();
          for (const auto& [engine, list] : h.primary) {
            if (!list.empty() && list.back().to_ns + 500'000'000 >= NetnsLab::nowNs()) return true;
          }
          return false;
        },
        std::chrono::seconds(2 * kTtl), 200ms);
    Verdict v = check(*lab_);
    report(scenario, v);
    if (std::getenv("HFTGUARD_PARTITION_DUMP") != nullptr) std::cout << lab_->dump() << "\n";
    for (const auto& p : v.problems) ADD_FAILURE() << scenario << ": " << p;
    if (!v.problems.empty()) ADD_FAILURE() << "what every daemon recorded:\n" << lab_->dump();
    return v;
  }

  std::unique_ptr<NetnsLab> lab_;
};

TEST_F(NetnsPartitions, PrimaryHostIsolatedTheMajorityPromotesAfterItFencedItself) {
  lab_->isolate(1, true);
  ASSERT_TRUE(waitUntil([&] { return lab_->count("failover_completed") >= 1; },
                        std::chrono::seconds(kTtl * 4)))
      << lab_->dump();
  Verdict v = settle("primary-host");
  EXPECT_EQ(v.failovers, 1u) << lab_->dump();
  EXPECT_GE(v.self_fence_ms, 0) << "h1 did not fence itself\n" << lab_->dump();
  EXPECT_EQ(lab_->count("partition_detected"), 1u) << lab_->dump();
}

TEST_F(NetnsPartitions, ObserverIsolatedNothingFailsOver) {
  lab_->isolate(3, true);  // past its lease's expiry
  std::this_thread::sleep_for(std::chrono::seconds(kTtl + 2));
  Verdict v = settle("observer");
  EXPECT_EQ(v.failovers, 0u) << lab_->dump();
  EXPECT_EQ(lab_->count("failover_started"), 0u) << lab_->dump();
}

TEST_F(NetnsPartitions, PrimaryAndObserverCutOnlyTheQuorumStillSeesIt) {
  lab_->cut(1, 3);  // h3 loses engine_a; etcd still has a quorum through h2
  ASSERT_TRUE(waitUntil([&] { return lab_->count("observer_disagrees") >= 1; }, 15s))
      << lab_->dump();
  Verdict v = settle("primary-observer-cut");
  EXPECT_EQ(v.failovers, 0u) << lab_->dump();
  EXPECT_EQ(lab_->count("failover_started"), 0u) << lab_->dump();
}

TEST_F(NetnsPartitions, EtcdLeaderIsolated) {
  const int leader = lab_->etcdLeader(1);
  ASSERT_GT(leader, 0);
  lab_->isolate(leader, true);
  if (leader == 1) {  // the primary's host too: failed over once its lease is gone
    ASSERT_TRUE(waitUntil([&] { return lab_->count("failover_completed") >= 1; },
                          std::chrono::seconds(kTtl * 4)))
        << lab_->dump();
  } else {
    std::this_thread::sleep_for(std::chrono::seconds(kTtl + 3));
  }
  Verdict v = settle(fmt::format("etcd-leader (h{})", leader));
  // Only the primary's host being cut off fails it over.
  EXPECT_EQ(v.failovers, leader == 1 ? 1u : 0u) << lab_->dump();
}

TEST_F(NetnsPartitions, FlappingPrimaryLinkNeverMakesTwoPrimaries) {
  for (int i = 0; i < 3; ++i) {  // bounded: 3 flaps, 9 s
    lab_->isolate(1, true);
    std::this_thread::sleep_for(1500ms);
    lab_->isolate(1, false);
    std::this_thread::sleep_for(1500ms);
  }
  std::this_thread::sleep_for(std::chrono::seconds(kTtl));
  Verdict v = settle("flapping");
  EXPECT_LE(v.failovers, 1u) << lab_->dump();
}

// The primary's daemon stopped by an operator (it says so in etcd), then its host cut off:
// its lease is gone, but nothing fenced engine_a - no evidence. The majority's fence cannot
// reach engine_a, so the failover fails and engine_b is never promoted.
TEST_F(NetnsPartitions, AStoppedPrimaryHostDaemonIsNoEvidenceOfAFence) {
  lab_->stopDaemon(1);
  lab_->isolate(1, true);
  ASSERT_TRUE(waitUntil([&] { return lab_->count("failover_failed") >= 1; },
                        std::chrono::seconds(kTtl * 3)))
      << lab_->dump();
  Verdict v = settle("stopped-primary-daemon");
  EXPECT_EQ(v.failovers, 0u) << lab_->dump();
  EXPECT_EQ(lab_->count("partition_detected"), 0u) << lab_->dump();
  EXPECT_TRUE(lab_->history().primary.at("engine_b").empty()) << "engine_b was promoted";
  bool said = false;
  for (int h = 2; h <= 3; ++h) {
    for (const auto& e : lab_->eventsOf(h)) {
      said = said || (e.type == "quorum_reached" &&
                      e.fields.value("self_fence", "").find("stopped by an operator") !=
                          std::string::npos);
    }
  }
  EXPECT_TRUE(said) << "the leader did not see that h1's daemon was stopped\n" << lab_->dump();
}

// The acting daemon's host cut off mid-plan: the plan waits 1.5 s between its fence and its
// promote, and the leader's host goes the moment that wait starts. Whichever host leads (h1
// hosts engine_a, h2 the candidate, h3 the witness): the cut-off leader may still finish a
// step inside its lease (h2 can reach its own engine_b), never after; a leader on the
// majority side takes the plan up (or runs it again once it can reach the candidate); the
// roles move to engine_b once, at one epoch, and there are never two primaries.
class NetnsMidPlan : public NetnsPartitions {
 protected:
  void prepare(NetnsLab& lab) override {
    lab.usePlans(partitionPlans(
        "      - {name: pause, action: exec, argv: [/bin/sleep, '1.5'], timeout: 2s}\n"));
  }
};

TEST_F(NetnsMidPlan, TheLeadersHostCutOffMidPlanAnotherCompletesItOnce) {
  const int leader = lab_->leader();
  ASSERT_GT(leader, 0);
  // engine_a stops acting as primary: down to every observer, a quorum at once.
  ASSERT_FALSE(lab_->http(1, "POST", "http://" + lab_->ip(1) + ":19080/admin/demote").empty());
  auto pausing = [&] {
    for (const auto& e : lab_->eventsOf(leader)) {
      if (e.type == "step_started" && e.fields.value("step", "") == "pause") return true;
    }
    return false;
  };
  ASSERT_TRUE(waitUntil(pausing, 15s, 20ms)) << lab_->dump();
  lab_->isolate(leader, true);
  std::this_thread::sleep_for(std::chrono::seconds(kTtl + 4));
  lab_->heal();
  // Every daemon ends with engine_b primary, moved there at one epoch.
  auto moved = [&](std::set<std::uint64_t>* epochs) {
    bool all = true;
    for (int h = 1; h <= lab_->hosts(); ++h) {
      std::string primary;
      for (const auto& e : lab_->eventsOf(h)) {
        if (e.type != "roles_changed") continue;
        primary = e.fields["roles"].value("primary", "");
        if (epochs != nullptr && primary == "engine_b")
          epochs->insert(e.fields["roles"].value("epoch", std::uint64_t{0}));
      }
      all = all && primary == "engine_b";
    }
    return all;
  };
  ASSERT_TRUE(waitUntil([&] { return moved(nullptr); }, std::chrono::seconds(kTtl * 4)))
      << "leader h" << leader << "\n" << lab_->dump();
  settle(fmt::format("leader-mid-plan (h{})", leader));
  std::set<std::uint64_t> epochs;
  moved(&epochs);
  EXPECT_EQ(epochs.size(), 1u) << "the roles moved to engine_b more than once\n" << lab_->dump();
  EXPECT_FALSE(lab_->history().primary.at("engine_b").empty()) << "engine_b was not promoted";
}

// Random schedules: a few cuts per run (an isolated host or a cut pair), each 1-10 s.
TEST_F(NetnsPartitions, RandomSchedules) {
  const char* runs_env = std::getenv("HFTGUARD_PARTITION_RUNS");
  const char* seed_env = std::getenv("HFTGUARD_PARTITION_SEED");
  const int runs = runs_env != nullptr ? std::max(1, std::atoi(runs_env)) : 1;
  std::uint64_t seed = seed_env != nullptr
                           ? std::strtoull(seed_env, nullptr, 10)
                           : static_cast<std::uint64_t>(NetnsLab::nowNs() % 1000000);
  for (int run = 0; run < runs; ++run, ++seed) {
    if (run > 0) {  // a fresh cluster for every schedule
      lab_.reset();
      lab_ = std::make_unique<NetnsLab>(hftguardBinary(), 3, kTtl);
      ASSERT_TRUE(lab_->start()) << lab_->dump();
    }
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> cuts(1, 3), kind(0, 1), host(1, 3), ms(1000, 10000),
        gap(0, 3000);
    std::string schedule;
    bool primary_cut_long = false;
    const int n = cuts(rng);
    for (int k = 0; k < n; ++k) {
      const int hold = ms(rng);
      if (kind(rng) == 0) {
        const int h = host(rng);
        lab_->isolate(h, true);
        schedule += fmt::format(" isolate h{} {}ms;", h, hold);
        primary_cut_long = primary_cut_long || (h == 1 && hold >= (kTtl + 3) * 1000);
      } else {
        const int a = host(rng);
        const int b = a % 3 + 1;
        lab_->cut(a, b);
        schedule += fmt::format(" cut h{}-h{} {}ms;", a, b, hold);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(hold));
      lab_->heal();
      std::this_thread::sleep_for(std::chrono::milliseconds(gap(rng)));
    }
    std::this_thread::sleep_for(std::chrono::seconds(kTtl + 2));
    std::cout << "partition schedule seed " << seed << ":" << schedule << "\n";
    Verdict v = settle(fmt::format("random seed {}", seed));
    // Liveness (a failover once the primary's host is cut off for longer than the lease and
    // detection) is the named scenario's to assert: a schedule's hold of at most 10 s is too
    // close to a lease that etcd refreshes on an election (up to 2 x 6 s) to decide it here.
    (void)primary_cut_long;
    if (::testing::Test::HasFailure()) {
      std::cout << "replay: HFTGUARD_PARTITION_SEED=" << seed << " HFTGUARD_PARTITION_RUNS=1\n";
      return;
    }
  }
}

}  // namespace

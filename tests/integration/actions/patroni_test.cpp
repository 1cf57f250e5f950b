// patroni against a real two-member Patroni 3.0 cluster on etcd: switchover, failover, the
// unplanned failover after the leader dies, and every refusal.

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "hftguard/actions/action.hpp"

#include "action_harness.hpp"
#include "event_file.hpp"
#include "ha_clusters.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

namespace {

class Patroni : public ::testing::Test {
 protected:
  // One cluster for the suite: it takes seconds to bootstrap, and each test leaves it healthy.
  static void SetUpTestSuite() { cluster_ = new PatroniCluster(); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(cluster_->waitHealthy(30s)) << cluster_->cluster(); }

  std::string urls() const {
    return "['" + cluster_->apiUrl(0) + "', '" + cluster_->apiUrl(1) + "']";
  }

  actions::ActionResult step(const std::string& keys, bool dry_run) {
    return rig_.step("action: patroni, user: postgres, timeout: 30s, " + keys, dry_run, {}, 40s);
  }

  static int indexOf(const std::string& name) { return name == PatroniCluster::name(0) ? 0 : 1; }
  static std::string address(int i) { return "127.0.0.1:" + std::to_string(cluster_->pgPort(i)); }

  static PatroniCluster* cluster_;
  ActionRig rig_;
};

PatroniCluster* Patroni::cluster_ = nullptr;

TEST_F(Patroni, DryRunNamesTheCandidateAndChangesNothing) {
  const std::string leader = cluster_->leader();
  auto r = step("urls: " + urls() + ", operation: switchover", true);
  ASSERT_TRUE(r.ok) << r.detail;
  const std::string replica = PatroniCluster::name(1 - indexOf(leader));
  EXPECT_NE(r.detail.find("would switchover to " + replica), std::string::npos) << r.detail;
  EXPECT_EQ(cluster_->leader(), leader);
}

TEST_F(Patroni, SwitchoverMovesTheLeaderAndTheNewLeaderTakesWrites) {
  const int old = indexOf(cluster_->leader());
  auto r = step("urls: " + urls() + ", operation: switchover, leader: " + PatroniCluster::name(old),
                false);
  ASSERT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.new_primary, address(1 - old));
  EXPECT_EQ(r.old_primary, address(old));
  EXPECT_EQ(cluster_->leader(), PatroniCluster::name(1 - old));
  EXPECT_EQ(cluster_->query(1 - old, "SELECT pg_is_in_recovery()"), "f");
  EXPECT_FALSE(cluster_->query(1 - old, "SELECT txid_current()").empty());
}

TEST_F(Patroni, ARetryFindsTheWorkDone) {
  // The candidate already leads (a retry after Patroni acted, or its own failover got there
  // first): the step verifies the leader and a write instead of asking again.
  const std::string leader = cluster_->leader();
  auto r = step("urls: " + urls() + ", operation: failover, candidate: " + leader, false);
  ASSERT_TRUE(r.ok) << r.detail;
  EXPECT_NE(r.detail.find("accepts writes"), std::string::npos) << r.detail;
  EXPECT_EQ(cluster_->leader(), leader);
}

TEST_F(Patroni, FailoverToANamedCandidate) {
  const int old = indexOf(cluster_->leader());
  auto r =
      step("urls: " + urls() + ", operation: failover, candidate: " + PatroniCluster::name(1 - old),
           false);
  ASSERT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.new_primary, address(1 - old));
  EXPECT_EQ(cluster_->leader(), PatroniCluster::name(1 - old));
}

TEST_F(Patroni, RefusesWhilePausedAndSaysWhyInTheEventLog) {
  const std::string leader = cluster_->leader();
  cluster_->setPaused(true);
  auto r = step("urls: " + urls() + ", operation: failover", false);
  // The operator's command runs the same refusal through the runner into the event log.
  TempDir dir;
  const std::string config = dir.path() + "/hftguard.yaml";
  std::ofstream(config) << "node: {name: ops}\n"
                        << "event_log: {path: " << dir.path() << "/events.json}\n"
                        << "maintenance: {path: " << dir.path() << "/maintenance.json}\n"
                        << "control_api: {listen: 'off', socket: " << dir.path() << "/control.sock}\n"
                        << "components:\n  database: {tier: warm, rto_target: 2m, plan: db, "
                           "checks: {t: {type: tcp, host: 127.0.0.1, port: 1}}}\n"
                        << "plans:\n  db: {steps: [{name: patroni_failover, action: patroni, "
                           "user: postgres, operation: failover, urls: "
                        << urls() << "}]}\n";
  const int code = runCommand({HFTGUARD_BINARY, "failover", "--config", config, "database"},
                              {.log_file = dir.path() + "/out.txt"});
  cluster_->setPaused(false);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("Patroni is paused"), std::string::npos) << r.detail;
  EXPECT_NE(code, 0);
  bool recorded = false;
  for (const auto& e : readEvents(dir.path() + "/events.json")) {
    if (e.type == "step_failed") {
      EXPECT_NE(e.reason.find("Patroni is paused (maintenance mode)"), std::string::npos)
          << e.reason;
      recorded = true;
    }
  }
  EXPECT_TRUE(recorded) << readFile(dir.path() + "/out.txt");
  EXPECT_EQ(cluster_->leader(), leader);
}

TEST_F(Patroni, RefusesAnUnknownCandidateOrAnUnexpectedLeader) {
  const std::string leader = cluster_->leader();
  auto r = step("urls: " + urls() + ", operation: failover, candidate: pg9", false);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("candidate pg9 is not a member"), std::string::npos) << r.detail;
  r = step("urls: " + urls() + ", operation: switchover, leader: pg9", false);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("the leader is " + leader + ", not pg9"), std::string::npos) << r.detail;
  // The leader is no candidate: a dry run says so (a real run would find the work done).
  r = step("urls: " + urls() + ", operation: failover, candidate: " + leader, true);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("already the leader"), std::string::npos) << r.detail;
  EXPECT_EQ(cluster_->leader(), leader);
}

// A fence that failed earlier in the plan means the old leader may still take writes: no
// failover, even with allow_unfenced, and Patroni is not asked.
TEST_F(Patroni, AFailedFenceEarlierInThePlanRefusesTheFailover) {
  const std::string leader = cluster_->leader();
  actions::PlanContext ctx{"c", "n1", "", "", "", "", ""};
  ctx.fence_failed = true;
  auto r = rig_.step("action: patroni, user: postgres, timeout: 30s, urls: " + urls() +
                         ", operation: failover, allow_unfenced: true",
                     false, ctx, 40s);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("a fence step earlier in this plan failed"), std::string::npos)
      << r.detail;
  EXPECT_EQ(cluster_->leader(), leader);
}

TEST_F(Patroni, RefusesWhenNoApiAnswers) {
  auto r = step(
      "urls: ['http://127.0.0.1:" + std::to_string(freePort()) + "'], operation: failover", false);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("no Patroni API answered /cluster"), std::string::npos) << r.detail;
}

// Last: it leaves one member dead. With the leader's host gone, Patroni promotes the
// candidate only once the dead leader's key expires (ttl 10 here): the step waits for that
// and proves the new leader with a write.
TEST_F(Patroni, UnplannedFailoverAfterTheLeaderDies) {
  const int old = indexOf(cluster_->leader());
  cluster_->kill(old);
  const auto start = std::chrono::steady_clock::now();
  auto r = step("urls: " + urls() + ", operation: failover", false);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.new_primary, address(1 - old));
  EXPECT_EQ(cluster_->query(1 - old, "SELECT pg_is_in_recovery()"), "f");
  std::printf(
      "unplanned Patroni failover through the REST API: %lld ms\n",
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  EXPECT_LT(took, 25s);
}

}  // namespace

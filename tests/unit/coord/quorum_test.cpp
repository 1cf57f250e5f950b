// Observations and their quorum, and the leader's wait for a cut-off primary's host to fence
// itself: pure functions of what the daemons report (docs/safety.md).

#include "hftguard/coord/quorum.hpp"

#include <gtest/gtest.h>

using namespace hftguard;
using namespace hftguard::coord;
using namespace std::chrono_literals;

namespace {

Observation seen(const std::string& node, const std::string& verdict,
                 const std::string& primary = "engine_a", std::uint64_t epoch = 3) {
  Observation o;
  o.node = node;
  o.verdict = verdict;
  o.primary = primary;
  o.epoch = epoch;
  return o;
}

}  // namespace

TEST(Quorum, AMajorityOfTheLiveObserversDecides) {
  auto q = judgeQuorum({seen("n1", "down"), seen("n2", "down"), seen("n3", "up")}, "engine_a", 3,
                       0, "");
  EXPECT_TRUE(q.reached) << q.reason;
  EXPECT_EQ(q.needed, 2);
  EXPECT_EQ(q.observers, 3);
  EXPECT_EQ(q.down_by, (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(q.up_by, (std::vector<std::string>{"n3"}));
}

TEST(Quorum, TheEarliestDownVerdictIsWhereTheOutageBegan) {
  Observation a = seen("n1", "down"), b = seen("n2", "down"), c = seen("n3", "up");
  a.since_ms = 1'800'000'000'300;
  b.since_ms = 1'800'000'000'200;
  c.since_ms = 1'800'000'000'100;  // not down: not counted
  EXPECT_EQ(judgeQuorum({a, b, c}, "engine_a", 3, 0, "").earliest_down_ms, 1'800'000'000'200);
  EXPECT_EQ(observationsIn({{"observations", {{"e", toJson(a)}}}}, "n1").at("e").since_ms,
            a.since_ms);
}

TEST(Quorum, ALoneObserverIsNeverEnough) {
  auto q = judgeQuorum({seen("n1", "down"), seen("n2", "up"), seen("n3", "up")}, "engine_a", 3, 0,
                       "");
  EXPECT_FALSE(q.reached);
  EXPECT_NE(q.reason.find("1 of 3 observers see engine_a down, 2 needed"), std::string::npos)
      << q.reason;
}

TEST(Quorum, ObserversNotYetSureOrOfAnotherPrimaryDoNotCountAsDown) {
  auto q = judgeQuorum({seen("n1", "down"), seen("n2", "unknown"),
                        seen("n3", "down", "engine_b", 4), seen("n4", "down", "engine_a", 2)},
                       "engine_a", 3, 0, "");
  EXPECT_FALSE(q.reached) << q.reason;
  EXPECT_EQ(q.needed, 3);  // a majority of four
  EXPECT_EQ(q.unknown_by, (std::vector<std::string>{"n2"}));
  EXPECT_EQ(q.elsewhere_by, (std::vector<std::string>{"n3", "n4"}));
}

TEST(Quorum, AFixedQuorumCountsDownVerdictsAndCanExceedTheLiveOnes) {
  EXPECT_TRUE(judgeQuorum({seen("n1", "down"), seen("n2", "up"), seen("n3", "up")}, "engine_a", 3,
                          1, "")
                  .reached);
  auto q = judgeQuorum({seen("n1", "down"), seen("n2", "down")}, "engine_a", 3, 3, "");
  EXPECT_FALSE(q.reached);
  EXPECT_NE(q.reason.find("only 2 observers are live and the quorum is 3"), std::string::npos)
      << q.reason;
}

TEST(Quorum, DaemonsThatWentDoNotShrinkTheQuorumToOneVote) {
  // Two of three daemons restarting: the one live observer is not a majority of the cluster.
  auto q = judgeQuorum({seen("n1", "down")}, "engine_a", 3, 0, "", 3);
  EXPECT_FALSE(q.reached) << q.reason;
  EXPECT_EQ(q.needed, 2);
  // Two live of three known (the third cut off and gone): both must see it down.
  EXPECT_TRUE(
      judgeQuorum({seen("n1", "down"), seen("n2", "down")}, "engine_a", 3, 0, "", 3).reached);
  EXPECT_FALSE(
      judgeQuorum({seen("n1", "down"), seen("n2", "up")}, "engine_a", 3, 0, "", 3).reached);
  // Two known: both. One daemon in the whole cluster: its word.
  EXPECT_EQ(judgeQuorum({seen("n1", "down")}, "engine_a", 3, 0, "", 2).needed, 2);
  EXPECT_TRUE(judgeQuorum({seen("n1", "down")}, "engine_a", 3, 0, "", 1).reached);
}

TEST(Quorum, ThePrimarysOwnHostSayingItsProcessIsGoneDecidesAlone) {
  Observation host = seen("n1", "down");
  host.host_check = true;
  host.failing = {"process"};
  auto q = judgeQuorum({host, seen("n2", "up"), seen("n3", "up")}, "engine_a", 3, 0, "n1");
  EXPECT_TRUE(q.reached) << q.reason;
  EXPECT_EQ(q.testimony, "n1");
  // The same word from another host is one observer's view across the network.
  EXPECT_FALSE(judgeQuorum({host, seen("n2", "up"), seen("n3", "up")}, "engine_a", 3, 0, "n2")
                   .reached);
  // A down verdict on a network check from the host is one vote too.
  host.host_check = false;
  EXPECT_FALSE(judgeQuorum({host, seen("n2", "up"), seen("n3", "up")}, "engine_a", 3, 0, "n1")
                   .reached);
}

TEST(Quorum, ComponentsWithoutRolesCompareThePrimaryLabelOnly) {
  EXPECT_TRUE(
      judgeQuorum({seen("n1", "down", "pg1", 0), seen("n2", "down", "pg1", 0)}, "pg1", 0, 0, "")
          .reached);
}

TEST(Observations, AreReadFromADaemonsReportAndMalformedOnesAreLeftOut) {
  Observation o = seen("n2", "down");
  o.failing = {"health", "order"};
  nlohmann::json report = {{"node", "n2"},
                           {"observations",
                            {{"engine", toJson(o)},
                             {"bad", "not an object"},
                             {"odd", {{"verdict", "sideways"}, {"epoch", -1}}}}}};
  auto got = observationsIn(report, "n2");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got.at("engine"), o);
  EXPECT_EQ(got.at("odd").verdict, "unknown");
  EXPECT_EQ(got.at("odd").epoch, 0u);
  EXPECT_TRUE(observationsIn(nlohmann::json::array(), "n2").empty());
  EXPECT_TRUE(observationsIn({{"observations", 3}}, "n2").empty());
}

TEST(SelfFence, NoWaitWithoutSelfFencingOrWithoutAKnownHost) {
  auto g = judgeSelfFence(false, "n1", Presence::Live, seen("n1", "up"), 0s, 30s, 10s);
  EXPECT_FALSE(g.wait);
  EXPECT_TRUE(g.evidence.empty());
  g = judgeSelfFence(true, "", Presence::NeverSeen, std::nullopt, 0s, 30s, 10s);
  EXPECT_FALSE(g.wait);
  EXPECT_TRUE(g.evidence.empty());
}

TEST(SelfFence, AHostDaemonThatSeesThePrimaryDownIsACrashNotAPartition) {
  auto g = judgeSelfFence(true, "n1", Presence::Live, seen("n1", "down"), 0s, 30s, 10s);
  EXPECT_FALSE(g.wait);
  EXPECT_TRUE(g.evidence.empty()) << "its own fence proves it; no self-fence evidence";
}

TEST(SelfFence, ALiveHostDaemonThatSeesItUpIsWaitedForUpToTheBound) {
  auto g = judgeSelfFence(true, "n1", Presence::Live, seen("n1", "up"), 5s, 30s, 10s);
  EXPECT_TRUE(g.wait) << g.reason;
  g = judgeSelfFence(true, "n1", Presence::Live, seen("n1", "unknown"), 29s, 30s, 10s);
  EXPECT_TRUE(g.wait);
  g = judgeSelfFence(true, "n1", Presence::Live, seen("n1", "up"), 30s, 30s, 10s);
  EXPECT_FALSE(g.wait);
  EXPECT_TRUE(g.evidence.empty()) << "it renews its lease: it did not fence itself";
}

TEST(SelfFence, ALiveHostDaemonWithoutAViewIsWaitedForNeverEvidence) {
  // An older daemon, or a report that cannot be read: live, renewing - not cut off.
  auto g = judgeSelfFence(true, "n1", Presence::Live, std::nullopt, 5s, 30s, 10s);
  EXPECT_TRUE(g.wait) << g.reason;
  g = judgeSelfFence(true, "n1", Presence::Live, std::nullopt, 30s, 30s, 10s);
  EXPECT_FALSE(g.wait);
  EXPECT_TRUE(g.evidence.empty()) << g.reason;
}

TEST(SelfFence, AGoneHostDaemonHasFencedItselfByNow) {
  auto g = judgeSelfFence(true, "n1", Presence::Gone, std::nullopt, 0s, 30s, 10s);
  EXPECT_FALSE(g.wait);
  EXPECT_NE(g.evidence.find("holds no lease"), std::string::npos) << g.evidence;
}

TEST(SelfFence, AStoppedOrNeverSeenHostDaemonFencedNothing) {
  for (Presence p : {Presence::Stopped, Presence::NeverSeen}) {
    auto g = judgeSelfFence(true, "n1", p, std::nullopt, 0s, 30s, 10s);
    EXPECT_FALSE(g.wait);
    EXPECT_TRUE(g.evidence.empty()) << g.reason;
  }
}

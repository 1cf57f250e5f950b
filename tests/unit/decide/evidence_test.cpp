// The decider acts on evidence only: fall/rise apply from start-up for checks of any
// interval, reasons count the samples actually seen, and every failure decision carries the
// first sample that breached its rule (where the RTO starts). On a simulated clock.

#include <algorithm>

#include <gtest/gtest.h>

#include "hftguard/events/from_decision.hpp"

#include "sim.hpp"

using namespace hftguard;
using namespace hftguard::decide;
using namespace hftguard::decide::sim;

namespace {

// The reproduction: a fast tcp check and a slow redis_key check of one component.
const std::string kMixed =
    "      tcp: {type: tcp, host: 127.0.0.1, port: 1, interval: 100ms}\n"
    "      key: {type: redis_key, host: 127.0.0.1, key: k, condition: equals, expect: v, "
    "interval: 1500ms, timeout: 1s}\n";

// Runs the two checks on their own grids for `span`, each result from `ok(check, n)`.
template <typename Ok>
void mixed(Sim& s, Duration span, Ok ok) {
  int tcpRuns = 0, keyRuns = 0;
  for (Duration t{}; t <= span; t += 100ms) {
    s.result("e", "tcp", ok("tcp", tcpRuns++));
    if (t > Duration::zero() && t % 1500ms == Duration::zero())
      s.result("e", "key", ok("key", keyRuns++));
    s.tick();
    s.advance(100ms);
  }
}

// No decision claims more failures than the check had samples.
void expectNoOverclaim(const Sim& s, int seen) {
  for (const auto& d : s.all()) {
    for (const auto& t : d.thresholds) {
      if (t.name == "consecutive_failures") {
        EXPECT_LE(t.observed, seen) << d.reason;
      }
    }
  }
}

TEST(DeciderEvidence, SlowCheckFirstSampleIsNotAFailover) {
  Sim s(configOf(component("e", kMixed)));
  // tcp passes from t=0 every 100 ms; the key's first sample, at 1.5 s, fails.
  mixed(s, 1500ms, [](const std::string& check, int) { return check == "tcp"; });
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 0u);
  EXPECT_EQ(s.count(Kind::FailoverSuppressed), 0u);
  EXPECT_EQ(s.decider().health("e"), Health::Unknown);  // the key never passed: no evidence
  EXPECT_EQ(s.count(Kind::CheckFailed), 1u);
  EXPECT_NE(s.last(Kind::CheckFailed)->reason.find("(1 of 3)"), std::string::npos);
  EXPECT_EQ(s.last(Kind::CheckFailed)->tier, Tier::Transient);
  expectNoOverclaim(s, 1);
}

TEST(DeciderEvidence, DownAtStartUpIsReportedAfterFallNeverFailedOver) {
  Sim s(configOf(component("e", kMixed)));
  mixed(s, 4500ms, [](const std::string& check, int) { return check == "tcp"; });
  ASSERT_EQ(s.decider().health("e"), Health::Failed);  // three failed samples of the key
  const Decision& failed = *s.last(Kind::StateChanged);
  EXPECT_NE(failed.reason.find("initial state"), std::string::npos);
  EXPECT_NE(failed.reason.find("key failed 3 times in a row"), std::string::npos);
  mixed(s, 30s, [](const std::string& check, int) { return check == "tcp"; });
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 0u);
  expectNoOverclaim(s, 3);
}

TEST(DeciderEvidence, HealthyOnlyOnceEveryCheckHasRisen) {
  Sim s(configOf(component("e", kMixed)));
  mixed(s, 1500ms, [](const std::string&, int) { return true; });
  EXPECT_EQ(s.decider().health("e"), Health::Unknown);  // tcp is up, the key passed once
  mixed(s, 1400ms, [](const std::string&, int) { return true; });
  EXPECT_EQ(s.decider().health("e"), Health::Unknown);
  s.result("e", "key", true);  // its second success: rise 2
  EXPECT_EQ(s.decider().health("e"), Health::Healthy);
  // Then the key fails three times: that is a failover, dated from its first failure.
  const WallTime firstFailure = s.clock().wallNow() + 1500ms;
  mixed(s, 4500ms, [](const std::string& check, int) { return check == "tcp"; });
  ASSERT_EQ(s.count(Kind::FailoverTriggered), 1u);
  const Decision& d = *s.last(Kind::FailoverTriggered);
  EXPECT_EQ(d.rule, "fall");
  EXPECT_NE(d.reason.find("key failed 3 times in a row: HTTP 500"), std::string::npos);
  ASSERT_TRUE(d.breach_started);
  EXPECT_EQ(*d.breach_started, firstFailure);
  EXPECT_EQ(d.breach_from, "first failed sample");
}

TEST(DeciderEvidence, ReasonsCountTheFailuresSeen) {
  Sim s(configOf(component("e", kHttp)));
  run(s, "e", "h", true, 2);
  run(s, "e", "h", false, 5);  // failed over at the third, still down at the fifth
  run(s, "e", "h", true, 1);   // recovering: the reason counts all five
  EXPECT_EQ(s.decider().health("e"), Health::Recovering);
  const Decision& recovering = *s.last(Kind::StateChanged);
  EXPECT_NE(recovering.reason.find("h failed 5 times in a row"), std::string::npos);
  ASSERT_FALSE(recovering.thresholds.empty());
  EXPECT_EQ(recovering.thresholds[0].observed, 5);
}

TEST(DeciderEvidence, LatencyBreachStartsAtTheFirstSlowSample) {
  const std::string trig = "    triggers: {latency: {above: 1000ms, for: 7s}}\n";
  Sim s(configOf(component("e", kHttp, trig)));
  run(s, "e", "h", true, 3);
  const WallTime firstSlow = s.clock().wallNow();
  run(s, "e", "h", true, 8, 1s, 1200ms);
  ASSERT_EQ(s.count(Kind::FailoverTriggered), 1u);
  const Decision& d = *s.last(Kind::FailoverTriggered);
  EXPECT_EQ(d.rule, "latency");
  ASSERT_TRUE(d.breach_started);
  EXPECT_EQ(*d.breach_started, firstSlow);  // 7 s before the decision, not at the plan
  EXPECT_EQ(d.breach_from, "first sample over the latency limit");
  const auto e = events::fromDecision(d, "n1", "1-1");
  EXPECT_EQ(e.fields["breach_from"], "first sample over the latency limit");
  EXPECT_TRUE(e.fields.contains("breach_started"));
}

TEST(DeciderEvidence, ErrorRateBreachStartsAtTheWindowsFirstFailure) {
  const std::string checks = "      h: {type: http, url: 'http://127.0.0.1:1/', interval: 100ms}\n";
  Sim s(configOf(component("e", checks, "    triggers: {error_rate: {above: 5%, window: 10s}}\n")));
  std::optional<WallTime> firstFailed;
  for (int i = 0; i < 200 && s.count(Kind::FailoverTriggered) == 0; ++i) {
    const bool fail = i >= 50 && i % 10 == 0;  // 10% from t = 5 s, never 3 in a row
    if (fail && !firstFailed) firstFailed = s.clock().wallNow();
    s.result("e", "h", !fail);
    s.advance(100ms);
  }
  ASSERT_EQ(s.count(Kind::FailoverTriggered), 1u);
  const Decision& d = *s.last(Kind::FailoverTriggered);
  EXPECT_EQ(d.rule, "error_rate");
  ASSERT_TRUE(d.breach_started);
  EXPECT_EQ(*d.breach_started, *firstFailed);
  EXPECT_EQ(d.breach_from, "first failed sample in the error-rate window");
}

TEST(DeciderEvidence, AReportedFailureStartsAtTheReport) {
  Sim s(configOf(component("e", kHttp)));
  run(s, "e", "h", true, 3);
  const WallTime at = s.clock().wallNow();
  s.keep(s.decider().reportPartition("e", "lost quorum", s.clock().now(), at));
  ASSERT_EQ(s.count(Kind::FailoverTriggered), 1u);
  EXPECT_EQ(s.last(Kind::FailoverTriggered)->breach_started, at);
  EXPECT_EQ(s.last(Kind::FailoverTriggered)->breach_from, "the network_partition report");
}

}  // namespace

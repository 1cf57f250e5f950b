// The decider on a simulated clock: no sleeps, every scenario of the runbook's decision tree.

#include "hftguard/decide/decider.hpp"

#include <gtest/gtest.h>

#include "sim.hpp"

using namespace hftguard;
using namespace hftguard::decide;
using namespace std::chrono_literals;
using namespace hftguard::decide::sim;

namespace {

TEST(Decider, TwoFailuresThenSuccessDoNothing) {
  Sim s(configOf(component("e", kHttp)));
  run(s, "e", "h", true, 5);
  EXPECT_EQ(s.decider().health("e"), Health::Healthy);
  s.result("e", "h", false);
  EXPECT_EQ(s.decider().lastTransition("e", "h"), Transition::Pending);
  EXPECT_EQ(s.decider().health("e"), Health::Suspect);
  s.result("e", "h", false);
  s.result("e", "h", true);
  EXPECT_EQ(s.decider().health("e"), Health::Healthy);
  EXPECT_EQ(s.count(Kind::CheckFailed), 2u);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 0u);
  EXPECT_EQ(s.count(Kind::FailoverSuppressed), 0u);
  EXPECT_EQ(s.last(Kind::CheckFailed)->tier, Tier::Transient);
}

TEST(Decider, ThreeFailuresFailTheComponentOver) {
  Sim s(configOf(component("e", kHttp)));
  run(s, "e", "h", true, 3);
  run(s, "e", "h", false, 3);
  EXPECT_EQ(s.decider().lastTransition("e", "h"), Transition::Changed);
  EXPECT_EQ(s.decider().health("e"), Health::Failed);
  ASSERT_EQ(s.count(Kind::FailoverTriggered), 1u);
  const Decision& d = *s.last(Kind::FailoverTriggered);
  EXPECT_EQ(d.tier, Tier::Component);
  EXPECT_EQ(d.rule, "fall");
  EXPECT_EQ(d.plan, "p");
  EXPECT_GE(d.evidence.size(), 3u);
  ASSERT_FALSE(d.thresholds.empty());
  EXPECT_EQ(d.thresholds[0].name, "consecutive_failures");
  EXPECT_EQ(d.thresholds[0].observed, 3);
  EXPECT_EQ(s.count(Kind::CheckFailed), 3u);
  run(s, "e", "h", false, 5);  // still down: no more events per sample, no second failover
  EXPECT_EQ(s.count(Kind::CheckFailed), 3u);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u);
  run(s, "e", "h", true, 1);
  EXPECT_EQ(s.decider().health("e"), Health::Recovering);
  run(s, "e", "h", true, 1);
  EXPECT_EQ(s.decider().health("e"), Health::Healthy);
}

// Was "FirstResultSetsTheStateAtOnce": one sample set the state, and a slow check's first
// failure beside a fast check's successes failed the component over. Now fall/rise apply
// from start-up: a component down from the start is failed after `fall` samples, reported
// as its initial state, and never failed over.
TEST(Decider, DownFromTheStartIsFailedAfterFallButNeverFailsOver) {
  Sim s(configOf(component("e", kHttp)));
  s.result("e", "h", false);
  EXPECT_EQ(s.decider().health("e"), Health::Unknown);
  EXPECT_EQ(s.count(Kind::StateChanged), 0u);
  s.result("e", "h", false);
  s.result("e", "h", false);
  EXPECT_EQ(s.decider().health("e"), Health::Failed);
  EXPECT_EQ(s.count(Kind::StateChanged), 1u);
  EXPECT_NE(s.last(Kind::StateChanged)->reason.find("initial state"), std::string::npos);
  run(s, "e", "h", false, 10);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 0u);
}

// 10s down, 10s up, for 30 minutes.
void flap30Minutes(Sim& s) {
  run(s, "e", "h", true, 10);
  for (int cycle = 0; cycle < 90; ++cycle) {
    run(s, "e", "h", false, 10);
    run(s, "e", "h", true, 10);
  }
}

TEST(Decider, FlappingEveryTenSecondsForThirtyMinutesFailsOverOnce) {
  // Flap damping alone (the error-rate trigger would hold the component failed instead).
  Sim s(configOf(component("e", kHttp, "    triggers: {error_rate: {enabled: false}}\n")));
  flap30Minutes(s);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u);
  EXPECT_GT(s.count(Kind::FailoverSuppressed, "cooldown"), 0u);
  EXPECT_GT(s.count(Kind::FailoverSuppressed, "flap_damping"), 10u);
  const Decision& held = *s.last(Kind::FailoverSuppressed);
  EXPECT_TRUE(held.gates.damped);
  EXPECT_GT(held.gates.penalty, 2000);
  // Still damped right after the flapping stops...
  run(s, "e", "h", true, 60);
  run(s, "e", "h", false, 5);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u);
  EXPECT_EQ(s.last(Kind::FailoverSuppressed)->suppressed_by, "flap_damping");
  // ...and once the penalty has decayed below reuse_below the held failover goes ahead.
  for (int i = 0; i < 2 * 3600 && s.count(Kind::FailoverTriggered) == 1; ++i) {
    s.result("e", "h", false);
    s.tick();
    s.advance(1s);
  }
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 2u);
  EXPECT_NE(s.last(Kind::FailoverTriggered)->reason.find("held failover released"),
            std::string::npos);
  EXPECT_LT(s.last(Kind::FailoverTriggered)->gates.penalty, 750);
}

TEST(Decider, FlappingWithDefaultTriggersFailsOverOnce) {
  Sim s(configOf(component("e", kHttp)));
  flap30Minutes(s);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u);
  EXPECT_GT(s.count(Kind::FailoverSuppressed), 0u);
}

TEST(Decider, SustainedLatencyOverTheWindowTriggers) {
  const std::string checks = "      h: {type: http, url: 'http://127.0.0.1:1/', interval: 2s}\n";
  const std::string trig = "    triggers: {latency: {above: 1000ms, for: 30s}}\n";
  Sim full(configOf(component("e", checks, trig)));
  run(full, "e", "h", true, 16, 2s, 1200ms);  // t = 0 .. 30s: the window is covered
  EXPECT_EQ(full.count(Kind::FailoverTriggered), 1u);
  EXPECT_EQ(full.last(Kind::FailoverTriggered)->rule, "latency");

  Sim shorter(configOf(component("e", checks, trig)));
  run(shorter, "e", "h", true, 1, 2s, 5ms);
  run(shorter, "e", "h", true, 15, 2s, 1200ms);  // one sample less over the limit
  EXPECT_EQ(shorter.count(Kind::FailoverTriggered), 0u);
  EXPECT_EQ(shorter.decider().health("e"), Health::Healthy);
}

// 600 samples a minute; failures spread so that `fall` never fires.
std::size_t errorRateFailovers(int failures_per_50) {
  const std::string checks = "      h: {type: http, url: 'http://127.0.0.1:1/', interval: 100ms}\n";
  Sim s(configOf(component("e", checks, "    triggers: {error_rate: {above: 5%, window: 1m}}\n")));
  for (int i = 0; i < 700; ++i) {
    const int slot = i % 50;
    const bool fail = (failures_per_50 == 3 && (slot == 0 || slot == 17 || slot == 34)) ||
                      (failures_per_50 == 2 && (slot == 0 || slot == 25));
    s.result("e", "h", !fail);
    s.advance(100ms);
  }
  return s.count(Kind::FailoverTriggered);
}

TEST(Decider, ErrorRateOverAMinute) {
  EXPECT_EQ(errorRateFailovers(3), 1u);  // 6%
  EXPECT_EQ(errorRateFailovers(2), 0u);  // 4%
}

// An outage's own failed samples are the old primary's: once it is failed over, they do
// not fail the new primary over again through the error-rate window - seen in the
// three-daemon drill (daemons a few seconds old: the outage inside their first minute of
// data), and after a flicker in the middle of an outage (Recovering, then Failed again: the
// same outage). A primary that flaps later is still caught.
TEST(Decider, AFailoversOwnOutageNeverTriggersTheErrorRateAfterIt) {
  const std::string checks = "      h: {type: http, url: 'http://127.0.0.1:1/', interval: 100ms}\n";
  const std::string extra =
      "    cooldown: 0s\n    flap_damping: {enabled: false}\n"
      "    triggers: {error_rate: {above: 5%, window: 1m}}\n";
  {  // within the first minute of data
    Sim s(configOf(component("e", checks, extra)));
    run(s, "e", "h", true, 100, 100ms);  // 10 s up
    run(s, "e", "h", false, 40, 100ms);  // 4 s down: failed over after 3
    run(s, "e", "h", true, 900, 100ms);  // the new primary serves for 90 s
    EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u) << s.last(Kind::FailoverTriggered)->reason;
    EXPECT_EQ(s.decider().health("e"), Health::Healthy);
  }
  {  // a flicker in the middle of the outage
    Sim s(configOf(component("e", checks, extra)));
    run(s, "e", "h", true, 700, 100ms);
    run(s, "e", "h", false, 3, 100ms);  // failed over
    run(s, "e", "h", true, 1, 100ms);   // one good probe: recovering
    run(s, "e", "h", false, 100, 100ms);  // 10 s down again: the same outage
    EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u);
    run(s, "e", "h", true, 900, 100ms);
    EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u) << s.last(Kind::FailoverTriggered)->reason;
    EXPECT_EQ(s.decider().health("e"), Health::Healthy);
    // A later flapping primary is still caught by the error rate.
    for (int i = 0; i < 700; ++i) run(s, "e", "h", i % 10 != 0, 1, 100ms);  // 10%
    EXPECT_EQ(s.count(Kind::FailoverTriggered), 2u);
    EXPECT_EQ(s.last(Kind::FailoverTriggered)->rule, "error_rate");
  }
}

TEST(Decider, CpuAboveThresholdForFiveMinutes) {
  const std::string checks = "      host: {type: host, interval: 1s}\n";
  auto feed = [&](Sim& s, int seconds) {
    for (int i = 0; i <= seconds; ++i) {
      s.result("e", "host", true, 1ms, {{"cpu_ratio", 0.96}, {"memory_ratio", 0.4}});
      if (i < seconds) s.advance(1s);
    }
  };
  Sim almost(configOf(component("e", checks)));
  feed(almost, 4 * 60 + 59);
  EXPECT_EQ(almost.count(Kind::FailoverTriggered), 0u);
  Sim full(configOf(component("e", checks)));
  feed(full, 5 * 60);
  ASSERT_EQ(full.count(Kind::FailoverTriggered), 1u);
  EXPECT_EQ(full.last(Kind::FailoverTriggered)->rule, "cpu");
}

TEST(Decider, CooldownHoldsASecondFailoverUntilItEnds) {
  Sim s(configOf(component("e", kHttp, "    cooldown: 5m\n")));
  run(s, "e", "h", true, 3);
  run(s, "e", "h", false, 3);
  run(s, "e", "h", true, 3);
  run(s, "e", "h", false, 3);  // again, 9s later
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u);
  EXPECT_EQ(s.last(Kind::FailoverSuppressed)->suppressed_by, "cooldown");
  run(s, "e", "h", false, 300);  // still down when the cooldown ends
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 2u);
}

// Healthy, then failed: the outage's first failover is triggered.
void failOnce(Sim& s) {
  run(s, "e", "h", true, 3);
  run(s, "e", "h", false, 3);
  ASSERT_EQ(s.count(Kind::FailoverTriggered), 1u);
}
const std::string kTwoRetries = "    failover_retries: 2\n    failover_retry_backoff: 5s\n";

// A failover that failed is run again while the component stays failed: after the backoff,
// doubling, up to failover_retries in one outage; healthy again, the count starts over.
TEST(Decider, AFailedFailoverIsRetriedAfterItsBackoffUpToTheLimit) {
  Sim s(configOf(component("e", kHttp, "    cooldown: 0s\n" + kTwoRetries)));
  ASSERT_NO_FATAL_FAILURE(failOnce(s));
  auto at = s.decider().failoverFailed("e", s.clock().now());
  ASSERT_TRUE(at);
  EXPECT_EQ(*at - s.clock().now(), 5s);
  EXPECT_EQ(s.decider().retriesUsed("e"), 1);
  run(s, "e", "h", false, 4);  // 4 s: not yet
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u);
  run(s, "e", "h", false, 2);
  ASSERT_EQ(s.count(Kind::FailoverTriggered), 2u);
  EXPECT_NE(s.last(Kind::FailoverTriggered)->reason.find("failed failover retried (1 of 2)"),
            std::string::npos)
      << s.last(Kind::FailoverTriggered)->reason;
  at = s.decider().failoverFailed("e", s.clock().now());
  ASSERT_TRUE(at);
  EXPECT_EQ(*at - s.clock().now(), 10s);  // doubled
  run(s, "e", "h", false, 11);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 3u);
  EXPECT_FALSE(s.decider().failoverFailed("e", s.clock().now()));  // both used
  run(s, "e", "h", false, 60);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 3u);
  // Healthy again: a new outage, with its own retries.
  run(s, "e", "h", true, 3);
  ASSERT_EQ(s.decider().health("e"), Health::Healthy);
  run(s, "e", "h", false, 3);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 4u);
  EXPECT_TRUE(s.decider().failoverFailed("e", s.clock().now()));
}

// A retry is the same failover, not a second one: the cooldown does not hold it; maintenance
// does, and it goes once the maintenance ends.
TEST(Decider, ARetryIsHeldByMaintenanceNotByTheCooldown) {
  Sim s(configOf(component("e", kHttp, "    cooldown: 5m\n" + kTwoRetries)));
  EXPECT_FALSE(s.decider().failoverFailed("e", s.clock().now()));  // not failed: nothing to retry
  ASSERT_NO_FATAL_FAILURE(failOnce(s));
  ASSERT_TRUE(s.decider().failoverFailed("e", s.clock().now()));
  EXPECT_FALSE(s.decider().failoverFailed("e", s.clock().now()));  // one is due already
  run(s, "e", "h", false, 6);
  ASSERT_EQ(s.count(Kind::FailoverTriggered), 2u);  // inside the 5m cooldown
  ASSERT_TRUE(s.decider().failoverFailed("e", s.clock().now()));
  s.keep(s.decider().startMaintenance("e", "alice", "rebuild", 1min, s.clock().now(),
                                      s.clock().wallNow()));
  run(s, "e", "h", false, 15);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 2u);  // held while in maintenance
  s.keep(s.decider().endMaintenance("e", "done", s.clock().now(), s.clock().wallNow()));
  run(s, "e", "h", false, 1);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 3u);
  EXPECT_NE(s.last(Kind::FailoverTriggered)->reason.find("retried (2 of 2)"), std::string::npos)
      << s.last(Kind::FailoverTriggered)->reason;
  // Retries off (the default): a failed failover stays failed (an operator's to resolve).
  Sim none(configOf(component("e", kHttp, "    cooldown: 0s\n")));
  run(none, "e", "h", true, 3);
  run(none, "e", "h", false, 3);
  EXPECT_FALSE(none.decider().failoverFailed("e", none.clock().now()));
  run(none, "e", "h", false, 30);
  EXPECT_EQ(none.count(Kind::FailoverTriggered), 1u);
}

// A retry due is about the roles it failed on: dropped when they change (the daemon calls
// cancelRetry on every roles change) or when the store's own HA switched.
TEST(Decider, ARetryDueIsDroppedWhenTheRolesMoveOrTheStoreSwitches) {
  Sim s(configOf(component("e", kHttp, "    cooldown: 0s\n" + kTwoRetries)));
  ASSERT_NO_FATAL_FAILURE(failOnce(s));
  ASSERT_TRUE(s.decider().failoverFailed("e", s.clock().now()));
  s.decider().cancelRetry("e");
  run(s, "e", "h", false, 20);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u) << "a cancelled retry ran";
  // Scheduled again (one retry left), then the store switched: its follow is the failover.
  ASSERT_TRUE(s.decider().failoverFailed("e", s.clock().now()));
  s.keep(s.decider().reportExternalFailover("e", "+switch-master", s.clock().now(),
                                            s.clock().wallNow()));
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 2u);  // the follow
  run(s, "e", "h", false, 20);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 2u) << "the retry ran after the store's switch";
}

TEST(Decider, TwoComponentsFailingTogetherIsTheSystemTier) {
  Sim s(configOf(component("a", kHttp) + component("b", kHttp),
                 "system: {min_failed_components: 2, window: 30s, plan: site}\n"));
  for (int i = 0; i < 3; ++i) {
    s.result("a", "h", true);
    s.result("b", "h", true);
    s.advance(1s);
  }
  for (int i = 0; i < 3; ++i) {
    s.result("a", "h", false);
    s.result("b", "h", false);
    s.advance(1s);
  }
  ASSERT_EQ(s.count(Kind::FailoverTriggered), 2u);
  const Decision& site = *s.last(Kind::FailoverTriggered);
  EXPECT_EQ(site.component, "b");
  EXPECT_EQ(site.tier, Tier::System);
  EXPECT_EQ(site.rule, "system");
  EXPECT_EQ(site.plan, "site");
}

TEST(Decider, MaintenanceSuppressesAndExpiresOnItsOwn) {
  Sim s(configOf(component("e", kHttp)));
  run(s, "e", "h", true, 3);
  s.keep(s.decider().startMaintenance("e", "alice", "kernel upgrade", 10min, s.clock().now(),
                                      s.clock().wallNow()));
  EXPECT_EQ(s.count(Kind::MaintenanceStarted), 1u);
  run(s, "e", "h", false, 3);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 0u);
  EXPECT_EQ(s.last(Kind::FailoverSuppressed)->suppressed_by, "maintenance");
  EXPECT_TRUE(s.last(Kind::FailoverSuppressed)->gates.maintenance);
  run(s, "e", "h", true, 5);  // back before maintenance ends: nothing is left to do
  s.advance(10min);
  s.tick();
  EXPECT_EQ(s.count(Kind::MaintenanceEnded), 1u);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 0u);
  run(s, "e", "h", false, 3);  // after maintenance: a real failover
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u);
}

TEST(Decider, GlobalMaintenanceHoldsAndReleasesWhenItEnds) {
  Sim s(configOf(component("e", kHttp)));
  run(s, "e", "h", true, 3);
  s.keep(s.decider().startMaintenance("", "bob", "site work", 1h, s.clock().now(),
                                      s.clock().wallNow()));
  run(s, "e", "h", false, 3);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 0u);
  s.keep(s.decider().endMaintenance("", "done early", s.clock().now(), s.clock().wallNow()));
  EXPECT_EQ(s.count(Kind::MaintenanceEnded), 1u);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u);  // still down: the held failover runs
}

TEST(Decider, SemiAndManualAutomationNeverFailOverOnTheirOwn) {
  Sim s(configOf(component("semi", kHttp, "    automation: semi\n") +
                     component("man", kHttp, "    automation: manual\n"),
                 "system: {min_failed_components: 5}\n"));
  for (const char* c : {"semi", "man"}) {
    run(s, c, "h", true, 2);
    run(s, c, "h", false, 3);
  }
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 0u);
  EXPECT_EQ(s.count(Kind::FailoverSuppressed, "automation"), 2u);
  run(s, "semi", "h", false, 400);  // not held: nothing later either
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 0u);
}

TEST(Decider, InformationalChecksNeverFailTheComponent) {
  Sim s(configOf(component(
      "e", kHttp + "      info: {type: http, url: 'http://127.0.0.1:1/', informational: true}\n")));
  run(s, "e", "h", true, 3);
  run(s, "e", "info", false, 10);
  EXPECT_EQ(s.decider().health("e"), Health::Healthy);
  EXPECT_EQ(s.count(Kind::CheckFailed), 0u);
}

TEST(Decider, PartitionAndCorruptionReportsFailOverAtOnce) {
  Sim s(configOf(component("a", kHttp) +
                 component("b", kHttp, "    triggers: {data_corruption: false}\n")));
  run(s, "a", "h", true, 3);
  run(s, "b", "h", true, 3);
  s.keep(s.decider().reportPartition("a", "lost quorum", s.clock().now(), s.clock().wallNow()));
  ASSERT_EQ(s.count(Kind::FailoverTriggered), 1u);
  EXPECT_EQ(s.last(Kind::FailoverTriggered)->rule, "network_partition");
  s.keep(s.decider().reportDataCorruption("b", "checksum mismatch", s.clock().now(),
                                          s.clock().wallNow()));
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u);  // disabled for b
  run(s, "a", "h", true, 2);                        // rise successes after the report clear it
  EXPECT_EQ(s.decider().health("a"), Health::Healthy);
}

// With etcd the leader reports a quorum's verdict its own checks do not share: the same gates
// as any failure hold it (automation, cooldown), and it holds only until every check passes.
TEST(Decider, AQuorumsVerdictFailsOverThroughTheUsualGates) {
  Sim s(configOf(component("a", kHttp, "    cooldown: 5m\n") +
                     component("semi", kHttp, "    automation: semi\n"),
                 "system: {min_failed_components: 5}\n"));
  run(s, "a", "h", true, 3);
  run(s, "semi", "h", true, 3);
  const WallTime first = s.clock().wallNow() - std::chrono::milliseconds(240);
  s.keep(s.decider().reportQuorum("a", "2 of 3 observers see engine_a down", s.clock().now(),
                                  s.clock().wallNow(), first));
  ASSERT_EQ(s.count(Kind::FailoverTriggered), 1u);
  EXPECT_EQ(s.last(Kind::FailoverTriggered)->rule, "quorum");
  // The RTO counts from the first failed sample an observer saw, not from the report.
  EXPECT_EQ(s.last(Kind::FailoverTriggered)->breach_started, first);
  EXPECT_EQ(s.last(Kind::FailoverTriggered)->breach_from, "the first failed sample an observer saw");
  EXPECT_NE(s.last(Kind::FailoverTriggered)->reason.find("a quorum of observers: 2 of 3"),
            std::string::npos);
  EXPECT_EQ(s.decider().health("a"), Health::Failed);
  run(s, "a", "h", true, 2);  // this daemon's checks pass: the forced failure ends
  EXPECT_EQ(s.decider().health("a"), Health::Healthy);
  s.keep(s.decider().reportQuorum("a", "again", s.clock().now(), s.clock().wallNow()));
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u);
  EXPECT_EQ(s.count(Kind::FailoverSuppressed, "cooldown"), 1u);
  s.keep(s.decider().reportQuorum("semi", "2 of 3", s.clock().now(), s.clock().wallNow()));
  EXPECT_EQ(s.count(Kind::FailoverSuppressed, "automation"), 1u);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u);
}

TEST(Decider, AnExternalSwitchIsFollowedAtOnceEvenInCooldown) {
  Sim s(configOf(component("r", kHttp, "    cooldown: 5m\n") +
                 component("semi", kHttp, "    automation: semi\n")));
  run(s, "r", "h", true, 3);
  run(s, "r", "h", false, 3);  // hftguard's own failover: the cooldown starts
  ASSERT_EQ(s.count(Kind::FailoverTriggered), 1u);
  auto follow = [&](const std::string& c) {
    return s.keep(s.decider().reportExternalFailover(c, "Sentinel switched A -> B", s.clock().now(),
                                                     s.clock().wallNow()));
  };
  auto d = follow("r");  // Sentinel's own switch, 3 s later: not held by the cooldown
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, Kind::FailoverTriggered);
  EXPECT_EQ(d[0].rule, "external_failover");
  EXPECT_EQ(d[0].plan, "p");
  EXPECT_EQ(d[0].reason, "Sentinel switched A -> B");
  EXPECT_TRUE(d[0].gates.cooldown_until.has_value());  // recorded as it stood
  EXPECT_EQ(s.decider().health("r"), Health::Failed);  // health stays the probes' business
  d = follow("semi");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, Kind::FailoverSuppressed);
  EXPECT_EQ(d[0].suppressed_by, "automation");
  EXPECT_NE(d[0].reason.find("not followed: automation is semi"), std::string::npos);
  s.keep(s.decider().startMaintenance("r", "alice", "redis upgrade", 1h, s.clock().now(),
                                      s.clock().wallNow()));
  d = follow("r");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].suppressed_by, "maintenance");
  EXPECT_TRUE(follow("nope").empty());
}

TEST(Decider, AGrowingCorruptionCountFailsOver) {
  Sim s(configOf(component("db", "      pg: {type: postgres, host: 127.0.0.1, user: u}\n")));
  for (int i = 0; i < 3; ++i) {
    s.result("db", "pg", true, 1ms, {{"data_corruption", 2}});  // old findings: a baseline
    s.advance(1s);
  }
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 0u);
  s.result("db", "pg", true, 1ms, {{"data_corruption", 3}});
  ASSERT_EQ(s.count(Kind::FailoverTriggered), 1u);
  EXPECT_EQ(s.last(Kind::FailoverTriggered)->rule, "data_corruption");
}

}  // namespace

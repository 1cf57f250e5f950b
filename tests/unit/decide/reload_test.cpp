// A reload on the simulated clock: the decider goes on under the new config keeping what
// its unchanged checks counted and every gate it held (Decider::reconfigure).

#include <gtest/gtest.h>

#include "sim.hpp"

using namespace hftguard;
using namespace hftguard::decide;
using namespace std::chrono_literals;
using namespace hftguard::decide::sim;

namespace {

const std::string kTwo =
    "      h: {type: http, url: 'http://127.0.0.1:1/', interval: 1s}\n"
    "      g: {type: http, url: 'http://127.0.0.1:2/', interval: 1s}\n";

// Both checks up, then `h` fails twice: one more failure fails the component (fall 3).
void twoFailures(Sim& s) {
  for (int i = 0; i < 3; ++i) {
    s.result("e", "h", true);
    s.result("e", "g", true);
    s.advance(1s);
  }
  s.result("e", "h", false);
  s.result("e", "h", false);
  ASSERT_EQ(s.decider().health("e"), Health::Suspect);
}

TEST(DeciderReload, AnUnchangedCheckKeepsItsCountAndTheThirdFailureFailsOver) {
  Sim s(configOf(component("e", kTwo)));
  twoFailures(s);
  // `g` changed, `h` only moved down a line (a comment above it): h's two failures stand.
  s.reload(configOf(component("e", "      # moved\n" +
                                       std::string("      g: {type: http, url: "
                                                   "'http://127.0.0.1:2/', interval: 2s}\n") +
                                       "      h: {type: http, url: 'http://127.0.0.1:1/', "
                                       "interval: 1s}\n")));
  EXPECT_EQ(s.decider().health("e"), Health::Suspect);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 0u);
  s.result("e", "h", false);
  EXPECT_EQ(s.decider().health("e"), Health::Failed);
  ASSERT_EQ(s.count(Kind::FailoverTriggered), 1u);
  EXPECT_EQ(s.last(Kind::FailoverTriggered)->thresholds[0].observed, 3);
}

TEST(DeciderReload, AChangedCheckStartsOverUnderItsNewThresholds) {
  Sim s(configOf(component("e", kTwo)));
  twoFailures(s);
  s.reload(configOf(component(
      "e", "      h: {type: http, url: 'http://127.0.0.1:1/', interval: 1s, fall: 4}\n"
           "      g: {type: http, url: 'http://127.0.0.1:2/', interval: 1s}\n")));
  for (int i = 0; i < 3; ++i) s.result("e", "h", false);
  EXPECT_EQ(s.decider().health("e"), Health::Suspect);  // 3 of the new 4: the old 2 are gone
  s.result("e", "h", false);
  EXPECT_EQ(s.decider().health("e"), Health::Failed);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u);
  EXPECT_EQ(s.last(Kind::FailoverTriggered)->thresholds[0].limit, 4);
}

// A check added to a watched component is not known yet; it must not make the component
// unknown meanwhile: an outage seen by the other checks still fails over.
TEST(DeciderReload, AnAddedCheckNeverHoldsAFailoverBackWhileItIsUnknown) {
  Sim s(configOf(component("e", kHttp)));
  run(s, "e", "h", true, 3);
  s.reload(configOf(component("e", kTwo)));
  EXPECT_EQ(s.decider().health("e"), Health::Healthy);
  run(s, "e", "h", false, 3);  // g has not answered yet
  EXPECT_EQ(s.decider().health("e"), Health::Failed);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u);
}

TEST(DeciderReload, AChangedCheckThatWasDownStaysDown) {
  Sim s(configOf(component("e", kHttp, "    cooldown: 0s\n")));
  run(s, "e", "h", true, 3);
  run(s, "e", "h", false, 3);
  ASSERT_EQ(s.count(Kind::FailoverTriggered), 1u);
  s.reload(configOf(component(
      "e", "      h: {type: http, url: 'http://127.0.0.1:1/', interval: 1s, rise: 3}\n",
      "    cooldown: 0s\n")));
  run(s, "e", "h", false, 2);
  EXPECT_EQ(s.decider().health("e"), Health::Failed);  // the same outage: no second failover
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u);
  run(s, "e", "h", true, 2);
  EXPECT_NE(s.decider().health("e"), Health::Healthy);  // rise is 3 now
  run(s, "e", "h", true, 1);
  EXPECT_EQ(s.decider().health("e"), Health::Healthy);
}

TEST(DeciderReload, CooldownMaintenanceAndAHeldFailoverStayHeld) {
  Sim s(configOf(component("e", kHttp, "    cooldown: 5m\n")));
  run(s, "e", "h", true, 3);
  run(s, "e", "h", false, 3);
  ASSERT_EQ(s.count(Kind::FailoverTriggered), 1u);
  run(s, "e", "h", true, 3);
  s.reload(configOf(component("e", kHttp, "    cooldown: 5m\n    flap_damping: {enabled: false}\n")));
  run(s, "e", "h", false, 3);  // the cooldown of the failover before the reload holds
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u);
  EXPECT_EQ(s.last(Kind::FailoverSuppressed)->suppressed_by, "cooldown");

  Sim m(configOf(component("e", kHttp)));
  run(m, "e", "h", true, 3);
  m.keep(m.decider().startMaintenance("e", "alice", "rebuild", 10min, m.clock().now(),
                                      m.clock().wallNow()));
  run(m, "e", "h", false, 3);
  ASSERT_EQ(m.last(Kind::FailoverSuppressed)->suppressed_by, "maintenance");
  m.reload(configOf(component("e", kHttp, "    cooldown: 1m\n")));
  EXPECT_TRUE(m.decider().inMaintenance("e"));
  run(m, "e", "h", false, 2);
  EXPECT_EQ(m.count(Kind::FailoverTriggered), 0u);
  // The failover held before the reload goes ahead when the window ends, once.
  m.keep(m.decider().endMaintenance("e", "done", m.clock().now(), m.clock().wallNow()));
  m.tick();
  EXPECT_EQ(m.count(Kind::FailoverTriggered), 1u);
}

TEST(DeciderReload, AnAddedComponentIsWatchedAndARemovedOneForgotten) {
  Sim s(configOf(component("e", kHttp)));
  run(s, "e", "h", true, 3);
  s.reload(configOf(component("x", kHttp)));
  EXPECT_EQ(s.decider().health("x"), Health::Unknown);
  run(s, "x", "h", true, 2);
  run(s, "x", "h", false, 3);
  EXPECT_EQ(s.decider().health("x"), Health::Failed);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u);  // x was known and healthy first
  // Results still in flight for the removed component change nothing.
  probes::ProbeResult late;
  late.component = "e";
  late.check = "h";
  late.status = probes::ProbeStatus::Failed;
  EXPECT_TRUE(s.decider().observe(late, s.clock().now()).empty());
}

}  // namespace

namespace {

// A switchover holds its component: its failures are suppressed (gate "switchover") and
// dropped; the hold is its own - releasing it never ends an interrupted plan's hold, and a
// component down on purpose is no part of a site incident.
TEST(DeciderSwitchover, ItsHoldIsItsOwnAndNeverMakesASiteIncident) {
  Sim s(configOf(component("a", kHttp) + component("b", kHttp),
                 "system: {min_failed_components: 2, window: 30s, plan: site}\n"));
  for (int i = 0; i < 3; ++i) {
    s.result("a", "h", true);
    s.result("b", "h", true);
    s.advance(1s);
  }
  s.decider().holdForSwitchover("a", "switchover 1 runs");
  for (int i = 0; i < 3; ++i) {
    s.result("a", "h", false);
    s.result("b", "h", false);
    s.advance(1s);
  }
  ASSERT_EQ(s.count(Kind::FailoverTriggered), 1u);  // b's own, never the site plan
  EXPECT_EQ(s.last(Kind::FailoverTriggered)->component, "b");
  EXPECT_EQ(s.last(Kind::FailoverTriggered)->tier, Tier::Component);
  EXPECT_EQ(s.last(Kind::FailoverSuppressed)->suppressed_by, "switchover");

  s.decider().holdInterrupted("a", "a plan was interrupted");
  s.decider().releaseSwitchover("a");
  run(s, "a", "h", true, 3);
  run(s, "a", "h", false, 3);
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u) << "releasing the switchover ended the other hold";
  EXPECT_EQ(s.last(Kind::FailoverSuppressed)->suppressed_by, "interrupted");
}

// The switchover's own outage (the drain) is not counted by the error-rate trigger against
// the new primary: once healthy there, the component stays healthy, and after the release a
// failure rate of the new primary's own still triggers.
TEST(DeciderSwitchover, ItsOwnOutageNeverCountsTowardsTheErrorRate) {
  Sim s(configOf(component("a", kHttp,
                           "    triggers: {error_rate: {above: 5%, window: 1m, min_samples: 10}}\n"
                           "    flap_damping: {enabled: false}\n")));
  run(s, "a", "h", true, 60);  // a whole window of data: the rate may trigger
  s.decider().holdForSwitchover("a", "switchover 7 runs");
  run(s, "a", "h", false, 4);  // the drain: 4 of the last 60 failed, over 5 %
  run(s, "a", "h", true, 3);   // the new primary answers
  EXPECT_EQ(s.decider().health("a"), Health::Healthy) << "the drain held it failed";
  s.decider().releaseSwitchover("a", false);
  run(s, "a", "h", true, 60);  // the rate needs a whole window of the new primary's data
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 0u);
  // The new primary's own errors, one at a time (never `fall` in a row): 4 in 60 is over 5 %.
  const auto flaky = [](Sim& sim) {
    for (int i = 0; i < 4; ++i) {
      run(sim, "a", "h", false, 1);
      run(sim, "a", "h", true, 1);
    }
  };
  flaky(s);
  ASSERT_EQ(s.count(Kind::FailoverTriggered), 1u) << "the error-rate trigger stayed off";
  EXPECT_EQ(s.last(Kind::FailoverTriggered)->rule, "error_rate");

  // Released without having failed: the rate counts again at once.
  Sim q(configOf(component("a", kHttp,
                           "    triggers: {error_rate: {above: 5%, window: 1m, min_samples: 10}}\n"
                           "    flap_damping: {enabled: false}\n")));
  run(q, "a", "h", true, 20);
  q.decider().holdForSwitchover("a", "switchover 8 runs");
  q.decider().releaseSwitchover("a");
  run(q, "a", "h", true, 60);  // (the hold started the window again)
  flaky(q);
  EXPECT_EQ(q.count(Kind::FailoverTriggered), 1u);
}

// A switchover that failed part-way may leave its primary down. Once released, that failure
// is decided as a held one - through the gates - not forgotten until the next transition.
TEST(DeciderSwitchover, AFailureStillStandingAtTheReleaseIsDecided) {
  Sim s(configOf(component("a", kHttp)));
  run(s, "a", "h", true, 3);
  s.decider().holdForSwitchover("a", "switchover 1 runs");
  run(s, "a", "h", false, 3);
  ASSERT_EQ(s.count(Kind::FailoverTriggered), 0u);
  s.tick();
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 0u) << "held: dropped while it runs";
  s.decider().releaseSwitchover("a");
  s.advance(1s);
  s.tick();
  ASSERT_EQ(s.count(Kind::FailoverTriggered), 1u);
  EXPECT_NE(s.last(Kind::FailoverTriggered)->reason.find("held by a switchover released"),
            std::string::npos)
      << s.last(Kind::FailoverTriggered)->reason;
  s.tick();
  EXPECT_EQ(s.count(Kind::FailoverTriggered), 1u) << "once";

  // The roles moved (released with reconsider false), or the daemon stops: nothing.
  Sim r(configOf(component("a", kHttp)));
  run(r, "a", "h", true, 3);
  r.decider().holdForSwitchover("a", "switchover 4 runs");
  run(r, "a", "h", false, 3);
  r.decider().releaseSwitchover("a", false);
  r.tick();
  EXPECT_EQ(r.count(Kind::FailoverTriggered), 0u);

  // A failover triggered before the hold (the primary failed during the pre-checks, its
  // failover deferred behind them) is not decided a second time by the release.
  Sim t(configOf(component("a", kHttp)));
  run(t, "a", "h", true, 3);
  run(t, "a", "h", false, 3);
  ASSERT_EQ(t.count(Kind::FailoverTriggered), 1u);
  t.decider().holdForSwitchover("a", "switchover 5 runs");
  t.decider().releaseSwitchover("a");
  t.advance(1s);
  t.tick();
  EXPECT_EQ(t.count(Kind::FailoverTriggered), 1u);

  // Released into a gate (automation semi): said once, not failed over.
  Sim g(configOf(component("a", kHttp, "    automation: semi\n")));
  run(g, "a", "h", true, 3);
  g.decider().holdForSwitchover("a", "switchover 6 runs");
  run(g, "a", "h", false, 3);
  const std::size_t before = g.count(Kind::FailoverSuppressed);
  g.decider().releaseSwitchover("a");
  g.tick();
  g.tick();
  EXPECT_EQ(g.count(Kind::FailoverTriggered), 0u);
  ASSERT_EQ(g.count(Kind::FailoverSuppressed), before + 1);
  EXPECT_EQ(g.last(Kind::FailoverSuppressed)->suppressed_by, "automation");

  // Released healthy (a switchover that completed): nothing to decide.
  Sim h(configOf(component("a", kHttp)));
  run(h, "a", "h", true, 3);
  h.decider().holdForSwitchover("a", "switchover 2 runs");
  run(h, "a", "h", false, 3);
  run(h, "a", "h", true, 3);
  h.decider().releaseSwitchover("a");
  h.tick();
  EXPECT_EQ(h.count(Kind::FailoverTriggered), 0u);

  // Released failed but in maintenance: held by the window, decided when it ends.
  Sim m(configOf(component("a", kHttp)));
  run(m, "a", "h", true, 3);
  m.decider().holdForSwitchover("a", "switchover 3 runs");
  run(m, "a", "h", false, 3);
  m.keep(m.decider().startMaintenance("a", "alice", "after the switchover", 10min,
                                      m.clock().now(), m.clock().wallNow()));
  m.decider().releaseSwitchover("a");
  m.tick();
  EXPECT_EQ(m.count(Kind::FailoverTriggered), 0u);
  m.keep(m.decider().endMaintenance("a", "done", m.clock().now(), m.clock().wallNow()));
  EXPECT_EQ(m.count(Kind::FailoverTriggered), 1u);
}

}  // namespace

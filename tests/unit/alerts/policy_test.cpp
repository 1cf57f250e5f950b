// The alert policy on a simulated event stream: one incident per outage, escalations only,
// recoveries announced after group_window, probe storms silent.

#include "hftguard/alerts/policy.hpp"

#include <gtest/gtest.h>

using namespace hftguard;
using namespace hftguard::alerts;
using namespace std::chrono_literals;
using config::Severity;

namespace {

class Stream {
 public:
  explicit Stream(Duration window = 30s) : policy_(window) {}

  std::vector<Alert> event(const std::string& type, nlohmann::json fields = {},
                           const std::string& component = "engine") {
    events::Event e;
    e.id = "e" + std::to_string(++n_);
    e.at = now_;
    e.node = "n1";
    e.component = component;
    e.type = type;
    e.reason = type + " because";
    if (!fields.is_null()) e.fields = std::move(fields);
    auto out = policy_.onEvent(e);
    all_.insert(all_.end(), out.begin(), out.end());
    return out;
  }
  std::vector<Alert> state(const std::string& from, const std::string& to) {
    return event("state_changed", {{"from", from}, {"to", to}});
  }
  std::vector<Alert> pass(Duration d) {
    now_ += std::chrono::duration_cast<WallTime::duration>(d);
    auto out = policy_.tick(now_);
    all_.insert(all_.end(), out.begin(), out.end());
    return out;
  }
  const std::vector<Alert>& all() const { return all_; }
  AlertPolicy& policy() { return policy_; }

 private:
  AlertPolicy policy_;
  WallTime now_ = WallTime(std::chrono::seconds(1'800'000'000));
  int n_ = 0;
  std::vector<Alert> all_;
};

TEST(AlertPolicy, AHundredFailedProbesAndAFailoverAreTwoAlertsAndAResolve) {
  Stream s;
  s.state("unknown", "healthy");
  for (int i = 0; i < 100; ++i) s.event("check_failed", {{"rule", "fall"}});
  s.state("healthy", "failed");
  auto opened = s.event("failover_triggered", {{"tier", "component"}, {"rule", "fall"}});
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(opened[0].severity, Severity::Warning);
  EXPECT_EQ(opened[0].title, "FAILOVER: engine");
  EXPECT_EQ(opened[0].tier, "component");
  for (const char* t : {"failover_started", "step_started", "step_done", "step_failed"})
    EXPECT_TRUE(s.event(t).empty()) << t;
  auto done = s.event("failover_completed", {{"rto_ms", 412.0}, {"rto_target_ms", 30000.0}});
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].severity, Severity::Info);
  EXPECT_EQ(done[0].rto_ms, 412.0);
  EXPECT_EQ(done[0].incident, opened[0].incident);
  for (int i = 0; i < 100; ++i) s.event("check_failed");  // the old primary stays down
  EXPECT_EQ(s.all().size(), 2u);
  s.state("failed", "healthy");
  EXPECT_TRUE(s.pass(29s).empty());  // not before group_window
  auto resolved = s.pass(2s);
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].action, Alert::Action::Resolve);
  EXPECT_EQ(resolved[0].incident, opened[0].incident);
  EXPECT_EQ(s.policy().openIncidents(), 0u);
}

TEST(AlertPolicy, AFlapInsideTheGroupWindowStaysOneIncident) {
  Stream s;
  s.state("unknown", "healthy");
  s.state("healthy", "failed");
  auto first = s.event("failover_triggered");
  s.state("failed", "healthy");
  s.pass(10s);
  EXPECT_TRUE(s.state("healthy", "failed").empty());
  EXPECT_TRUE(s.event("failover_suppressed", {{"suppressed_by", "cooldown"}}).size() == 1)
      << "a held failover escalates to critical once";
  s.state("failed", "healthy");
  s.pass(31s);
  ASSERT_EQ(s.all().size(), 3u);
  EXPECT_EQ(s.all()[1].incident, first[0].incident);
  EXPECT_EQ(s.all()[2].action, Alert::Action::Resolve);
  EXPECT_EQ(s.all()[2].incident, first[0].incident);
  // Later than the window: a new incident.
  s.state("healthy", "failed");
  auto again = s.event("failover_triggered");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_NE(again[0].incident, first[0].incident);
}

TEST(AlertPolicy, FailuresAndHoldsAreCriticalMaintenanceIsSilent) {
  Stream s;
  s.state("unknown", "healthy");
  s.state("healthy", "failed");
  s.event("failover_triggered");
  auto failed = s.event("failover_failed", {{"failed_step", "promote"}});
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].severity, Severity::Critical);
  EXPECT_EQ(failed[0].title, "FAILOVER FAILED: engine");
  EXPECT_EQ(s.event("failover_failed").size(), 1u) << "every failed failover is said";
  Stream m;
  m.state("unknown", "healthy");
  m.state("healthy", "failed");
  EXPECT_TRUE(m.event("failover_suppressed", {{"suppressed_by", "maintenance"}}).empty());
  auto human = m.event("failover_suppressed", {{"suppressed_by", "automation"}});
  ASSERT_EQ(human.size(), 1u);
  EXPECT_EQ(human[0].severity, Severity::Critical);
  EXPECT_EQ(human[0].title, "NEEDS ATTENTION (automation): engine");
}

TEST(AlertPolicy, NoStandbyReadyAndRolesNotMovedPage) {
  Stream s;
  s.state("unknown", "healthy");
  s.state("healthy", "failed");
  s.event("failover_triggered");
  EXPECT_TRUE(s.event("failover_skipped", {{"coordinator", "local"}}).empty());  // another runs
  // An operator's dry run finding no standby answers the operator; it pages nobody.
  EXPECT_TRUE(s.event("failover_skipped", {{"no_standby", true}, {"dry_run", true}}).empty());
  auto none = s.event("failover_skipped", {{"no_standby", true}});
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0].severity, Severity::Critical);
  EXPECT_EQ(none[0].title, "NO STANDBY READY: engine");
  Stream r;
  r.state("unknown", "healthy");
  r.state("healthy", "failed");
  r.event("failover_triggered");
  auto moved = r.event("failover_completed", {{"roles_error", "the roles moved meanwhile"}});
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].severity, Severity::Critical);
  EXPECT_EQ(moved[0].title, "FAILOVER DONE, ROLES NOT MOVED: engine");
}

// A leader that takes up the plan a dead leader left warns, even if nothing was said yet
// (the dead one's alerts may never have gone out); its dry-run re-verification says nothing.
TEST(AlertPolicy, APlanResumedByTheNextLeaderWarns) {
  Stream s;
  EXPECT_TRUE(s.event("failover_started", {{"dry_run", true}}).empty());
  EXPECT_TRUE(s.event("failover_completed", {{"dry_run", true}}).empty());
  auto resumed = s.event("failover_resumed", {{"from_node", "n2"}});
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0].severity, Severity::Warning);
  EXPECT_EQ(resumed[0].title, "FAILOVER RESUMED BY n1: engine");
  auto done = s.event("failover_completed");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].title, "FAILOVER COMPLETED: engine");
}

TEST(AlertPolicy, AFailedSwitchoverPagesARefusedOneDoesNot) {
  Stream s;
  EXPECT_TRUE(s.event("switchover_refused", {{"failed", "standby_ready"}}).empty());
  // Its plan's end is the switchover's to say: one page, not FAILOVER FAILED as well.
  EXPECT_TRUE(s.event("failover_failed", {{"switchover", "sw-1"}, {"failed_step", "promote"}})
                  .empty());
  auto failed = s.event("switchover_failed", {{"failed", "healthy"}});
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].severity, Severity::Critical);
  EXPECT_EQ(failed[0].title, "SWITCHOVER FAILED: engine");
  Stream ok;
  // Its own outage, held while it runs, pages nobody; its successful end neither.
  EXPECT_TRUE(ok.event("failover_suppressed", {{"suppressed_by", "switchover"}}).empty());
  EXPECT_TRUE(ok.event("failover_completed", {{"switchover", "sw-2"}}).empty());
  // Its plan done but the roles not moved: said as for any failover.
  Stream unmoved;
  auto roles = unmoved.event("failover_completed",
                             {{"switchover", "sw-4"}, {"roles_error", "the roles moved meanwhile"}});
  ASSERT_EQ(roles.size(), 1u);
  EXPECT_EQ(roles[0].title, "FAILOVER DONE, ROLES NOT MOVED: engine");
  // Interrupted (the stack may be half switched): that pages, switchover or not.
  Stream cut;
  auto interrupted = cut.event("failover_interrupted", {{"switchover", "sw-3"}});
  ASSERT_EQ(interrupted.size(), 1u);
  EXPECT_EQ(interrupted[0].severity, Severity::Critical);
}

TEST(AlertPolicy, DownAtStartIsSaidOnceAndDryRunsNever) {
  Stream s;
  auto down = s.state("unknown", "failed");
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].title, "DOWN AT START: engine");
  EXPECT_TRUE(s.event("failover_completed", {{"dry_run", true}}).empty());
}

TEST(AlertPolicy, AFollowedSwitchEndsWithItsFailover) {
  Stream s(0s);
  s.state("unknown", "healthy");
  auto opened = s.event("failover_triggered", {{"rule", "external_failover"}});
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(opened[0].rule, "external_failover");
  auto done = s.event("failover_completed");
  ASSERT_EQ(done.size(), 2u);  // the outcome, then the resolve: nothing stays failed
  EXPECT_EQ(done[1].action, Alert::Action::Resolve);
  EXPECT_EQ(s.policy().openIncidents(), 0u);
}

}  // namespace

// A lone observer's "down" warns (no failover follows); a host fencing itself pages, and a
// self-fence that failed pages again.
TEST(AlertPolicy, AnObserverDisagreeingWarnsAndASelfFencePages) {
  Stream s;
  s.state("unknown", "healthy");
  auto dis = s.event("observer_disagrees", {{"down_by", {"n3"}}});
  ASSERT_EQ(dis.size(), 1u);
  EXPECT_EQ(dis[0].severity, Severity::Warning);
  EXPECT_EQ(dis[0].title, "OBSERVER DISAGREES: engine");
  Stream f;
  f.state("unknown", "healthy");
  auto fencing = f.event("self_fence_started", {{"self_fence", true}});
  ASSERT_EQ(fencing.size(), 1u);
  EXPECT_EQ(fencing[0].severity, Severity::Critical);
  EXPECT_EQ(fencing[0].title, "SELF-FENCING ON n1: engine");
  auto failed = f.event("self_fence_failed", {{"self_fence", true}});
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].title, "SELF-FENCE FAILED ON n1: engine");
  EXPECT_TRUE(f.event("self_fence_completed", {{"self_fence", true}}).empty());
}

// A node whose event log cannot write pages once, at once, and is resolved when it writes
// again.

#include <gtest/gtest.h>

#include "hftguard/alerts/policy.hpp"

using namespace hftguard;

namespace {

events::Event logEvent(const std::string& type, int n) {
  events::Event e;
  e.id = "id-" + std::to_string(n);
  e.at = WallTime{std::chrono::seconds(1795656141 + n)};
  e.node = "n1";
  e.type = type;
  e.reason = "event log /var/log/hftguard/failover_events.json: write failed";
  return e;
}

TEST(EventLogAlert, DegradedPagesOnceAndRecoveredResolves) {
  alerts::AlertPolicy policy(std::chrono::seconds(60));
  auto first = policy.onEvent(logEvent("event_log_degraded", 1));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].severity, config::Severity::Critical);
  EXPECT_EQ(first[0].action, alerts::Alert::Action::Trigger);
  EXPECT_NE(first[0].title.find("EVENT LOG"), std::string::npos);
  EXPECT_TRUE(policy.onEvent(logEvent("event_log_degraded", 2)).empty());  // still the same
  auto resolved = policy.onEvent(logEvent("event_log_recovered", 3));
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].action, alerts::Alert::Action::Resolve);
  EXPECT_EQ(resolved[0].incident, first[0].incident);
  EXPECT_TRUE(policy.onEvent(logEvent("event_log_recovered", 4)).empty());
  EXPECT_EQ(policy.openIncidents(), 0u);
}

}  // namespace

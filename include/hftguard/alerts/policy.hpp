#pragma once
// Which events become alerts - a pure function of the event stream. One incident per
// component outage: it opens with the decision about the failure (failover triggered:
// warning; held or left to a human: critical) - or, for a component already down at
// start-up, with that state - and every later event of the same outage is at most one more
// alert: the failover's outcome (completed: info, failed: critical), an escalation, the
// recovery (resolve). Check failures, probe storms and step events never alert on their own. The
// recovery is announced only after `group_window` without a new failure: a flapping
// component stays one incident. A node whose event log cannot write (event_log_degraded) is
// a critical incident of its own, resolved by event_log_recovered.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hftguard/alerts/alert.hpp"
#include "hftguard/events/event.hpp"

namespace hftguard::alerts {

class AlertPolicy {
 public:
  explicit AlertPolicy(Duration group_window) : group_window_(group_window) {}

  std::vector<Alert> onEvent(const events::Event& e);
  // Time passing: recoveries that held for group_window are announced (resolve).
  std::vector<Alert> tick(WallTime now);

  // Open incidents, for status and tests.
  std::size_t openIncidents() const;

 private:
  struct Incident {
    std::string key;
    std::string node;
    bool open = false;
    config::Severity sent = config::Severity::Info;  // highest severity alerted so far
    bool any_sent = false;
    bool failed = false;  // the component's health is failed (from state_changed)
    std::optional<WallTime> resolve_due;  // recovered; resolved at this time unless it fails
  };
  Alert make(const events::Event& e, const Incident& i, config::Severity s,
             std::string title) const;
  Incident& open(const events::Event& e);
  std::vector<Alert> onEventLog(const events::Event& e);

  Duration group_window_;
  std::map<std::string, Incident> incidents_;  // by component
};

}  // namespace hftguard::alerts

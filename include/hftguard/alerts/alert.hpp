#pragma once
// What the alert channels send: one value per notification, made from the event log's
// events by the AlertPolicy and delivered by the AlertDispatcher.

#include <string>
#include <vector>

#include "hftguard/config/config.hpp"
#include "hftguard/core/clock.hpp"

namespace hftguard::alerts {

struct Alert {
  enum class Action { Trigger, Resolve };
  Action action = Action::Trigger;
  config::Severity severity = config::Severity::Info;
  std::string incident;  // dedup key: the same for every alert of one incident
  std::string node;
  std::string component;
  std::string title;    // "FAILOVER COMPLETED: trading_engine"
  std::string summary;  // one line: what happened and why
  std::string event_id;  // the event this alert reports
  std::string event_type;
  std::string tier;
  std::string rule;
  double rto_ms = -1;         // failover_completed only
  double rto_target_ms = -1;  // failover_completed only
  std::vector<std::string> evidence;  // a few lines of what the checks saw
  WallTime at{};
};

std::string_view toString(Alert::Action a);

}  // namespace hftguard::alerts

#pragma once
// A decision as an event-log entry: its tier, rule, states, gates and evidence.

#include <string>

#include "hftguard/decide/decision.hpp"
#include "hftguard/events/event.hpp"

namespace hftguard::events {

Event fromDecision(const decide::Decision& d, const std::string& node, std::string id);

}  // namespace hftguard::events

#pragma once
// One line of failover_events.json: a JSON object with an id, an RFC 3339 timestamp with
// milliseconds, the node, the component, the type, a reason, and the type's own fields
// (evidence, thresholds, tier, rule...). docs/events.md is the schema.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "hftguard/core/clock.hpp"

namespace hftguard::events {

struct Event {
  std::string id;
  WallTime at{};
  std::string node;
  std::string component;  // empty for node-wide events
  std::string type;       // check_failed, state_changed, failover_triggered, ...
  std::string reason;
  nlohmann::json fields = nlohmann::json::object();  // the type's own fields, flattened
};

std::string formatTimestamp(WallTime t);  // 2026-11-26T01:32:13.123Z
std::optional<WallTime> parseTimestamp(std::string_view text);

nlohmann::json toJson(const Event& e);
std::string toJsonLine(const Event& e);  // one line, '\n' included
// Nullopt (with why) for anything that is not a complete event object.
std::optional<Event> parseEventLine(std::string_view line, std::string* error = nullptr);

// Ids that sort in time order and never repeat within a process: <unix ms>-<sequence>.
class EventIds {
 public:
  std::string next(WallTime at);

 private:
  std::uint64_t sequence_ = 0;
};

}  // namespace hftguard::events

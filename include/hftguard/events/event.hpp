#pragma once
// One line of failover_events.json: a JSON object with an id, an RFC 3339 timestamp with
// milliseconds, the node, the component, the type, a reason, and the type's own fields
// (evidence, thresholds, tier, rule...). docs/events.md is the schema.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
// RFC 3339: "Z" or an offset (+01:00), with or without milliseconds.
std::optional<WallTime> parseTimestamp(std::string_view text);
// `events --since` and `/events?since=`: an RFC 3339 time or a duration back from `now` (10m).
std::optional<WallTime> parseSince(std::string_view text, WallTime now);

// Which events `hftguard events` and the control API's /events show.
struct EventFilter {
  std::string component;           // "" all
  std::vector<std::string> types;  // any of these; empty all
  std::optional<WallTime> since;
  bool matches(const struct Event& e) const;
};
// "a,b" -> {"a", "b"} (empty parts dropped).
std::vector<std::string> splitList(std::string_view text);

nlohmann::json toJson(const Event& e);
std::string toJsonLine(const Event& e);  // one line, '\n' included
// Nullopt (with why) for anything that is not a complete event object.
std::optional<Event> parseEventLine(std::string_view line, std::string* error = nullptr);

// Event ids: <unix ms>-<sequence>-<process>, e.g. 1795656141123-000042-81234. Within one
// writer they sort in time order; the process part (the pid, and ".N" for a further
// generator in the same process) keeps them unique across the daemon and CLI commands
// appending to the same log in the same millisecond.
class EventIds {
 public:
  EventIds();
  explicit EventIds(std::string process) : process_(std::move(process)) {}  // for tests
  std::string next(WallTime at);

 private:
  std::uint64_t sequence_ = 0;
  std::string process_;
};

}  // namespace hftguard::events

#include "hftguard/events/event.hpp"

#include <atomic>
#include <ctime>

#include <fmt/format.h>
#include <unistd.h>

namespace hftguard::events {

std::string formatTimestamp(WallTime t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

std::optional<WallTime> parseTimestamp(std::string_view text) {
  std::tm tm{};
  int millis = 0;
  const std::string s(text);
  char zone = 0;
  int n = std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &tm.tm_year, &tm.tm_mon,
                      &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis, &zone);
  if (n != 8 || zone != 'Z') {
    millis = 0;
    n = std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &zone);
    if (n != 7 || zone != 'Z') return std::nullopt;
  }
  // Out of range is malformed, not a date: nanoseconds since 1970 end in 2262.
  if (tm.tm_year < 1970 || tm.tm_year > 2199 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
      tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 ||
      tm.tm_sec < 0 || tm.tm_sec > 60 || millis < 0 || millis > 999) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t secs = timegm(&tm);
  if (secs == -1) return std::nullopt;
  return WallTime{std::chrono::seconds(secs) + std::chrono::milliseconds(millis)};
}

nlohmann::json toJson(const Event& e) {
  nlohmann::json j = {{"id", e.id},     {"ts", formatTimestamp(e.at)},
                      {"node", e.node}, {"component", e.component},
                      {"type", e.type}, {"reason", e.reason}};
  for (const auto& [key, value] : e.fields.items()) j[key] = value;
  return j;
}

std::string toJsonLine(const Event& e) {
  // Invalid UTF-8 in a reason (a target's garbage) is replaced, never a throw.
  return toJson(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::optional<Event> parseEventLine(std::string_view line, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<Event> {
    if (error != nullptr) *error = std::move(why);
    return std::nullopt;
  };
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("not a JSON object");
  for (const char* key : {"id", "ts", "node", "component", "type", "reason"}) {
    if (!j.contains(key) || !j[key].is_string())
      return fail(std::string("missing string field ") + key);
  }
  Event e;
  e.id = j["id"];
  auto at = parseTimestamp(j["ts"].get<std::string>());
  if (!at) return fail("bad ts");
  e.at = *at;
  e.node = j["node"];
  e.component = j["component"];
  e.type = j["type"];
  e.reason = j["reason"];
  for (const char* key : {"id", "ts", "node", "component", "type", "reason"}) j.erase(key);
  e.fields = std::move(j);
  return e;
}

EventIds::EventIds() {
  static std::atomic<unsigned> generators{0};
  const unsigned n = ++generators;
  process_ = n == 1 ? fmt::format("{}", ::getpid()) : fmt::format("{}.{}", ::getpid(), n);
}

std::string EventIds::next(WallTime at) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  return fmt::format("{}-{:06}-{}", ms, ++sequence_ % 1000000, process_);
}

}  // namespace hftguard::events

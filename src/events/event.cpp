#include "hftguard/events/event.hpp"

#include <algorithm>
#include <atomic>
#include <ctime>
#include <sstream>

#include <date/date.h>

#include <fmt/format.h>
#include <unistd.h>

#include "hftguard/core/duration.hpp"

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

// RFC 3339 (Howard Hinnant's date library): "Z" or a numeric offset ("+01:00", "-0530"),
// with or without a fraction of a second (kept to the millisecond, as events are written).
std::optional<WallTime> parseTimestamp(std::string_view text) {
  if (text.size() < 20 || text.size() > 40 || text[10] != 'T') return std::nullopt;
  const std::string s(text);
  const bool zulu = s.back() == 'Z';
  std::istringstream in(zulu ? s.substr(0, s.size() - 1) : s);
  date::sys_time<std::chrono::milliseconds> tp;
  std::chrono::minutes offset{0};
  if (zulu) {
    in >> date::parse("%FT%T", tp);
  } else {
    in >> date::parse("%FT%T%Ez", tp, offset);
  }
  if (in.fail() || in.peek() != std::char_traits<char>::eof()) return std::nullopt;
  // Out of range is malformed, not a date: nanoseconds since 1970 end in 2262.
  const auto year = int(date::year_month_day(date::floor<date::days>(tp)).year());
  if (year < 1970 || year > 2199) return std::nullopt;
  return WallTime{tp.time_since_epoch()};
}

std::optional<WallTime> parseSince(std::string_view text, WallTime now) {
  if (auto t = parseTimestamp(text)) return t;
  if (auto d = parseDuration(text); d && *d >= Duration::zero()) {
    return now - std::chrono::duration_cast<WallTime::duration>(*d);
  }
  return std::nullopt;
}

bool EventFilter::matches(const Event& e) const {
  return (component.empty() || e.component == component) && (!since || e.at >= *since) &&
         (types.empty() || std::find(types.begin(), types.end(), e.type) != types.end());
}

std::vector<std::string> splitList(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto comma = std::min(text.find(','), text.size());
    if (comma > 0) out.emplace_back(text.substr(0, comma));
    text.remove_prefix(std::min(comma + 1, text.size()));
  }
  return out;
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

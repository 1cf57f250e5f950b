#include "hftguard/events/event.hpp"

#include <algorithm>
#include <atomic>
#include <ctime>

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

// RFC 3339: "Z" or a numeric offset ("+01:00"), with or without a fraction of a second
// (kept to the millisecond, as events are written). The shape is checked here, digit by
// digit, before Howard Hinnant's date library does the calendar (valid days, offsets): its
// stream parser is not safe on arbitrary text (the fuzzer found a float overflow in it).
std::optional<WallTime> parseTimestamp(std::string_view t) {
  auto digits = [&](std::size_t at, std::size_t n, int& out) {
    out = 0;
    if (at + n > t.size()) return false;
    for (std::size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return false;
      out = out * 10 + (t[i] - '0');
    }
    return true;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(0, 4, y) || t.size() < 20 || t[4] != '-' || !digits(5, 2, mo) || t[7] != '-' ||
      !digits(8, 2, d) || t[10] != 'T' || !digits(11, 2, h) || t[13] != ':' ||
      !digits(14, 2, mi) || t[16] != ':' || !digits(17, 2, sec)) {
    return std::nullopt;
  }
  std::size_t i = 19;
  int ms = 0;
  if (t[i] == '.') {
    const std::size_t from = ++i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
      if (i - from < 3) ms = ms * 10 + (t[i] - '0');
      ++i;
    }
    const std::size_t n = i - from;
    if (n == 0 || n > 9) return std::nullopt;
    for (std::size_t k = n; k < 3; ++k) ms *= 10;
  }
  int offset = 0;  // minutes east of UTC
  if (i < t.size() && t[i] == 'Z') {
    ++i;
  } else if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
    int oh = 0, om = 0;
    if (!digits(i + 1, 2, oh) || i + 3 >= t.size() || t[i + 3] != ':' || !digits(i + 4, 2, om) ||
        oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = (oh * 60 + om) * (t[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return std::nullopt;
  }
  // Out of range is malformed, not a date: nanoseconds since 1970 end in 2262.
  if (i != t.size() || y < 1970 || y > 2199 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  const date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(mo)},
                                 date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  const auto at = date::sys_days(ymd) + std::chrono::hours(h) + std::chrono::minutes(mi) +
                  std::chrono::seconds(sec) + std::chrono::milliseconds(ms) -
                  std::chrono::minutes(offset);
  return WallTime{std::chrono::duration_cast<WallTime::duration>(at.time_since_epoch())};
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

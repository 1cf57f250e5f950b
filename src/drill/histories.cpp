#include "hftguard/drill/histories.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>

#include <fmt/format.h>

namespace hftguard::drill {

std::vector<RoleInterval> primaryIntervals(std::string_view history, std::int64_t now_ns,
                                           std::string* error) {
  std::vector<RoleInterval> out;
  std::int64_t since = -1, last = 0;
  int number = 0;
  while (!history.empty()) {
    const auto end = history.find('\n');
    if (end == std::string_view::npos) break;  // a line still being written: not yet
    std::string_view line = history.substr(0, end);
    history = history.substr(end + 1);
    ++number;
    if (line.empty()) continue;
    const auto space = line.find(' ');
    std::int64_t t = 0;
    const char* digits_end = line.data() + std::min(space, line.size());
    const auto [p, ec] = std::from_chars(line.data(), digits_end, t);
    const std::string_view role = space == std::string_view::npos ? "" : line.substr(space + 1);
    if (ec != std::errc{} || p != digits_end || role.empty() || t < last) {
      if (error != nullptr && error->empty()) {
        *error = fmt::format("line {}: not \"MONOTONIC_NS ROLE\" in time order", number);
      }
      break;
    }
    last = t;
    if (role == "primary" && since < 0) since = t;
    if (role != "primary" && since >= 0) {
      out.push_back({since, t});
      since = -1;
    }
  }
  if (since >= 0) out.push_back({since, std::max(since, now_ns)});
  return out;
}

Histories overlap(std::map<std::string, std::vector<RoleInterval>> primary, std::int64_t from_ns,
                  std::int64_t to_ns) {
  Histories h;
  // A sweep over every interval's ends: where two or more are open, that time counts.
  std::vector<std::pair<std::int64_t, int>> edges;
  for (const auto& [engine, list] : primary) {
    for (const auto& i : list) {
      const std::int64_t a = std::max(i.from_ns, from_ns), b = std::min(i.to_ns, to_ns);
      if (a >= b) continue;
      edges.emplace_back(a, +1);
      edges.emplace_back(b, -1);
    }
  }
  std::sort(edges.begin(), edges.end());  // at one instant, an end (-1) before a start
  int open = 0;
  std::int64_t at = 0;
  for (const auto& [t, d] : edges) {
    if (open >= 2) {
      h.double_primary_ns += t - at;
      if (h.first_double_ns == 0 && t > at) h.first_double_ns = at;
    }
    open += d;
    at = t;
  }
  h.primary = std::move(primary);
  return h;
}

std::int64_t monotonicNowNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace hftguard::drill

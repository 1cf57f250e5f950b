#include "hftguard/core/duration.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

#include <fmt/format.h>

namespace hftguard {
namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t nanos;
};

// Two-letter suffixes come first, so "ms" is never read as "m" followed by garbage.
constexpr std::array<Unit, 7> kUnits{{
    {"ns", 1},
    {"us", 1'000},
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
    {"d", 86'400'000'000'000},
}};

std::optional<std::int64_t> matchUnit(std::string_view& rest) {
  for (const Unit& u : kUnits) {
    if (rest.starts_with(u.suffix)) {
      rest.remove_prefix(u.suffix.size());
      return u.nanos;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<Duration> parseDuration(std::string_view text) {
  if (text == "0") return Duration::zero();
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::int64_t amount = 0;
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), amount);
    if (ec != std::errc{} || ptr == rest.data() || amount < 0) return std::nullopt;
    rest.remove_prefix(static_cast<std::size_t>(ptr - rest.data()));
    auto nanos = matchUnit(rest);
    if (!nanos) return std::nullopt;
    if (amount > (std::numeric_limits<std::int64_t>::max() - total) / *nanos) return std::nullopt;
    total += amount * *nanos;
  }
  return Duration{total};
}

std::string formatDuration(Duration d) {
  std::int64_t ns = d.count();
  if (ns == 0) return "0";
  std::string out;
  if (ns < 0) {
    out = "-";
    ns = -ns;
  }
  // Sub-millisecond remainders print in the one smallest unit that is exact.
  if (ns % 1'000'000 != 0) {
    return ns % 1'000 == 0 ? out + fmt::format("{}us", ns / 1'000) : out + fmt::format("{}ns", ns);
  }
  for (auto it = kUnits.rbegin(); it != kUnits.rend(); ++it) {
    if (it->nanos < 1'000'000 || it->suffix == "d") continue;
    if (ns >= it->nanos) {
      out += fmt::format("{}{}", ns / it->nanos, it->suffix);
      ns %= it->nanos;
    }
  }
  return out;
}

std::optional<double> parsePercent(std::string_view text) {
  if (text.size() < 2 || text.back() != '%') return std::nullopt;
  text.remove_suffix(1);
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
  if (!std::isfinite(value) || value < 0) return std::nullopt;
  return value / 100.0;
}

std::string formatPercent(double ratio) { return fmt::format("{:g}%", ratio * 100.0); }

}  // namespace hftguard

#pragma once
// Durations and percentages as operators write them in the config: "250ms", "2s", "5m",
// "1m30s", "95%". Parsing is strict: anything else is rejected, never guessed.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace hftguard {

using Duration = std::chrono::nanoseconds;

// Accepts one or more <integer><unit> groups, unit one of ns, us, ms, s, m, h, d
// ("1m30s"), or a bare "0". Rejects negatives, decimals, whitespace and overflow.
std::optional<Duration> parseDuration(std::string_view text);

// Shortest exact spelling that parseDuration reads back: 250ms, 2s, 5m, 1h30m.
std::string formatDuration(Duration d);

// "95%" or "99.5%" -> 0.95 / 0.995. The percent sign is required so a bare 0.95 or 95
// cannot be misread.
std::optional<double> parsePercent(std::string_view text);

std::string formatPercent(double ratio);

}  // namespace hftguard

#pragma once
// Logging goes to stderr through spdlog. Under systemd (JOURNAL_STREAM set) each line
// carries a <N> syslog priority prefix and no timestamp, so journald files it at the
// right level; elsewhere lines get an RFC 3339 timestamp.

#include <optional>
#include <string_view>

#include <spdlog/common.h>

namespace hftguard {

std::optional<spdlog::level::level_enum> parseLogLevel(std::string_view name);

// Installs the stderr logger as spdlog's default. Safe to call again to change the level.
void setupLogging(spdlog::level::level_enum level);

}  // namespace hftguard

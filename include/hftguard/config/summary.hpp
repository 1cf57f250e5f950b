#pragma once
// The short, normalized summary `hftguard check-config` prints: what the daemon will do
// with this config, with every default filled in. Secrets appear only as their origin.

#include <string>

#include <nlohmann/json.hpp>

#include "hftguard/config/config.hpp"

namespace hftguard::config {

std::string summarize(const Config& cfg);
// The same as JSON (`check-config --json`): durations in seconds, secrets as their origin.
nlohmann::json summarizeJson(const Config& cfg);

}  // namespace hftguard::config

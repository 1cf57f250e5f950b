#pragma once
// The control API's one HTML page (GET /): components, roles, health, pause, the last
// failover of each component with its steps - rendered on the daemon from the /status
// document, no script, refreshing itself every 5 s: what is left to look at when Grafana is
// down. Every text from a target or an operator is HTML-escaped.

#include <string>

#include <nlohmann/json.hpp>

namespace hftguard::control {

std::string renderStatusPage(const nlohmann::json& status);

}  // namespace hftguard::control

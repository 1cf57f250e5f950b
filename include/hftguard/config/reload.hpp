#pragma once
// What a config reload may change in a running daemon, and what only a restart applies: a
// pure comparison of the config it runs with and the validated file as it reads now.
//
// In place: checks and their thresholds, triggers, automation, tier, RTO target, cooldown,
// retries, flap damping, quorum, a component's plan and alert channels, components without
// roles or a Sentinel follow added or removed, the plans, the site policy, the log level.
// Restart only: what the daemon is (node), where it writes (event log, maintenance file),
// how it coordinates (coordination), listens (control_api) and alerts (the alerts section:
// channels and queues), and a component's roles (members, primary, standby), follow and self-fence.

#include <string>
#include <vector>

#include "hftguard/config/config.hpp"

namespace hftguard::config {

struct ReloadDiff {
  // Each a key path ("coordination", "components.db.members"): present, the reload is
  // refused as a whole and the running config stays.
  std::vector<std::string> restart_only;
  // What the reload changes, one line each ("components.engine.checks.http changed").
  std::vector<std::string> changes;
};

ReloadDiff diffForReload(const Config& running, const Config& next);

// A check the same in everything but where it is written: its state carries over a reload.
inline bool sameCheck(const CheckConfig& a, const CheckConfig& b) { return a == b; }

}  // namespace hftguard::config

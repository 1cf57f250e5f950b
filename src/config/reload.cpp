#include "hftguard/config/reload.hpp"

#include <algorithm>

namespace hftguard::config {
namespace {

template <typename T>
void keyed(const std::vector<T>& was, const std::vector<T>& now, const std::string& prefix,
           std::vector<std::string>& changes) {
  for (const auto& n : now) {
    auto it = std::find_if(was.begin(), was.end(), [&](const T& w) { return w.name == n.name; });
    if (it == was.end()) {
      changes.push_back(prefix + n.name + " added");
    } else if (!(*it == n)) {
      changes.push_back(prefix + n.name + " changed");
    }
  }
  for (const auto& w : was) {
    if (std::none_of(now.begin(), now.end(), [&](const T& n) { return n.name == w.name; })) {
      changes.push_back(prefix + w.name + " removed");
    }
  }
}

// What of a component only a restart applies: its roles (read from the state file or etcd at
// start), its Sentinel subscription and its self-fence (armed with the lease).
void roleKeys(const ComponentConfig& was, const ComponentConfig& now,
              std::vector<std::string>& out) {
  const std::string at = "components." + now.name + ".";
  if (was.members != now.members) out.push_back(at + "members");
  if (was.primary != now.primary) out.push_back(at + "primary");
  if (was.standby != now.standby) out.push_back(at + "standby");
  if (was.follow != now.follow) out.push_back(at + "follow");
  if (was.self_fence != now.self_fence) out.push_back(at + "self_fence");
}

bool hasRoles(const ComponentConfig& c) {
  return !c.members.empty() || c.follow.has_value() || !c.self_fence.empty();
}

}  // namespace

ReloadDiff diffForReload(const Config& running, const Config& next) {
  ReloadDiff d;
  auto& r = d.restart_only;
  if (running.node != next.node) r.push_back("node");
  if (running.event_log_path != next.event_log_path) r.push_back("event_log.path");
  if (running.event_queue_limit != next.event_queue_limit) r.push_back("event_log.queue_limit");
  if (running.maintenance_path != next.maintenance_path) r.push_back("maintenance.path");
  if (running.coordination != next.coordination) r.push_back("coordination");
  if (running.control_api != next.control_api) r.push_back("control_api");
  if (running.alerts != next.alerts) r.push_back("alerts");
  for (const auto& c : next.components) {
    if (const ComponentConfig* was = running.findComponent(c.name)) {
      roleKeys(*was, c, r);
    } else if (hasRoles(c)) {
      r.push_back("components." + c.name + " (added, with members, follow or self_fence)");
    }
  }
  for (const auto& c : running.components) {
    if (next.findComponent(c.name) == nullptr && hasRoles(c)) {
      r.push_back("components." + c.name + " (removed, with members, follow or self_fence)");
    }
  }

  auto& ch = d.changes;
  if (running.log_level != next.log_level) ch.push_back("logging.level " + next.log_level);
  if (running.probes != next.probes) ch.push_back("probes (defaults)");
  for (const auto& c : next.components) {
    const ComponentConfig* was = running.findComponent(c.name);
    if (was == nullptr) {
      ch.push_back("components." + c.name + " added");
      continue;
    }
    if (*was == c) continue;
    keyed(was->checks, c.checks, "components." + c.name + ".checks.", ch);
    ComponentConfig a = *was;
    ComponentConfig b = c;
    a.checks.clear();
    b.checks.clear();
    a.role_checks.clear();
    b.role_checks.clear();
    if (!(a == b)) ch.push_back("components." + c.name + " settings");
  }
  for (const auto& c : running.components) {
    if (next.findComponent(c.name) == nullptr) ch.push_back("components." + c.name + " removed");
  }
  keyed(running.plans, next.plans, "plans.", ch);
  if (running.system != next.system) ch.push_back("system");
  if (running.drill != next.drill || running.drill_options != next.drill_options) {
    ch.push_back("drill");
  }
  return d;
}

}  // namespace hftguard::config

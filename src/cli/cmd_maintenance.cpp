// hftguard maintenance start|end|list: maintenance windows for a component or the whole
// node. The running daemon picks a change up within a second; it also survives restarts.
#include <algorithm>
#include <cstdlib>
#include <ostream>

#include <fmt/ostream.h>

#include "hftguard/control/maintenance_file.hpp"
#include "hftguard/coord/etcd_coordinator.hpp"
#include "hftguard/events/event.hpp"

#include "commands.hpp"
#include "runtime.hpp"

namespace hftguard::cli {
namespace {

// `list`: the windows still open, with where they are kept (`label` in the text, `scope` in
// the JSON), as text or appended to `json`.
void listWindows(std::ostream& out, const std::vector<control::MaintenanceEntry>& entries,
                 const std::string& label, const std::string& scope, WallTime now,
                 nlohmann::json* json) {
  for (const auto& e : entries) {
    if (e.expires <= now) continue;
    if (json != nullptr) {
      const bool pause = control::isPause(e);
      json->push_back({{"component", orNull(e.component)},
                       {"paused", pause},
                       {"expires", orNull(pause ? "" : events::formatTimestamp(e.expires))},
                       {"owner", e.owner},
                       {"reason", e.reason},
                       {"scope", scope}});
      continue;
    }
    fmt::print(out, "{:<20} {}  by {}: {}{}\n",
               e.component.empty() ? "(whole node)" : e.component,
               control::isPause(e) ? "PAUSED until resumed"
                                   : "until " + events::formatTimestamp(e.expires),
               e.owner, e.reason, label);
  }
}

}  // namespace

std::string storeWindows(
    const config::Config& cfg,
    const std::function<std::string(std::vector<control::MaintenanceEntry>&)>& change) {
  if (cfg.coordination.type == "etcd") {
    Runtime rt(cfg);
    coord::EtcdClient etcd(rt.http, coord::etcdOptions(cfg));
    std::optional<std::string> error;
    coord::updateMaintenanceInEtcd(etcd, cfg, change,
                                   [&](std::string e, std::vector<control::MaintenanceEntry>) {
                                     error = std::move(e);
                                   });
    turnUntil(rt.io, [&] { return static_cast<bool>(error); });
    return error.value_or("etcd did not answer within 10 s (a change may still land)");
  }
  return control::updateMaintenance(cfg.maintenance_path, change);
}

// With `coordination: etcd` the windows are the cluster's (the `maintenance` key): one
// command holds every daemon. `list` shows those and this host's file.
int cmdMaintenance(const Args& args, std::ostream& out, std::ostream& err) {
  const std::string& action = args.positional.front();
  auto cfg = loadOrReport(args.config, err);
  if (!cfg) return kExitFailed;
  const std::string component = args.option("component").value_or("");
  if (!component.empty() && cfg->findComponent(component) == nullptr) {
    err << "hftguard maintenance: no component '" << component << "'\n";
    return kExitUsage;
  }
  if (action != "start" && action != "end" && action != "list") {
    err << "hftguard maintenance: start, end or list\n";
    return kExitUsage;
  }
  const WallTime now = std::chrono::system_clock::now();
  const bool json = args.json();
  nlohmann::json windows = nlohmann::json::array();  // list --json
  nlohmann::json* into = json ? &windows : nullptr;
  // start/end: what changed where, as a line or (--json) one object.
  auto changed = [&](const std::string& where, const std::string& text) {
    if (json) {
      printJson(out, {{"action", action},
                      {"component", orNull(component)},
                      {"where", where}});
    } else {
      fmt::print(out, "maintenance of {} {} ({})\n",
                 component.empty() ? "the whole node" : component,
                 action == "start" ? "started" : "ended", text);
    }
  };
  std::optional<control::MaintenanceEntry> added;
  if (action == "start") {
    auto length = parseDuration(args.option("for").value_or(""));
    const auto reason = args.option("reason");
    if (!length || *length <= Duration::zero() || *length > std::chrono::hours(24 * 7) || !reason) {
      err << "hftguard maintenance start: --for DURATION (up to 7d) and --reason TEXT are "
             "required\n";
      return kExitUsage;
    }
    added = control::MaintenanceEntry{
        component, args.option("owner").value_or(operatorName()), *reason,
        now + std::chrono::duration_cast<WallTime::duration>(*length)};
  }
  // The change to a list: expired windows go, the component's window is replaced or ended.
  auto change = [&](std::vector<control::MaintenanceEntry>& entries) -> std::string {
    std::erase_if(entries, [&](const auto& e) {
      // A pause is `hftguard resume`'s to end, not a window's.
      return e.expires <= now ||
             (action != "list" && e.component == component && !control::isPause(e));
    });
    if (added) entries.push_back(*added);
    return action == "list" ? "(read only)" : "";
  };
  std::string why;
  auto local = control::readMaintenance(cfg->maintenance_path, &why);
  const bool cluster = cfg->coordination.type == "etcd";
  if (!local) {
    err << "hftguard maintenance: " << why << "\n";
    if (!cluster) return kExitFailed;
    local.emplace();  // the cluster's windows do not need this host's file
  }
  if (cluster) {
    Runtime rt(*cfg);
    coord::EtcdClient etcd(rt.http, coord::etcdOptions(*cfg));
    std::optional<std::string> error;
    std::vector<control::MaintenanceEntry> after;
    coord::updateMaintenanceInEtcd(etcd, *cfg, change,
                                   [&](std::string e, std::vector<control::MaintenanceEntry> a) {
                                     after = std::move(a);
                                     error = std::move(e);
                                   });
    turnUntil(rt.io, [&] { return static_cast<bool>(error); });
    if (!error) error = "etcd did not answer within 10 s (a change may still land: check with list)";
    if (action == "list" && *error != "(read only)") {  // this host's windows, at least
      err << "hftguard maintenance: the cluster's windows cannot be read: " << *error << "\n";
      listWindows(out, *local, "  [this host]", "host", now, into);
      if (json) printJson(out, {{"windows", windows}, {"cluster_read", false}});
      return kExitFailed;
    }
    if (action == "list") {
      const bool none = std::none_of(after.begin(), after.end(),
                                     [&](const auto& e) { return e.expires > now; }) &&
                        std::none_of(local->begin(), local->end(),
                                     [&](const auto& e) { return e.expires > now; });
      if (none && !json) fmt::print(out, "no maintenance\n");
      listWindows(out, after, "  [cluster " + cfg->coordination.cluster + "]", "cluster", now,
                  into);
      listWindows(out, *local, "  [this host]", "host", now, into);
      if (json) printJson(out, {{"windows", windows}, {"cluster_read", true}});
      return kExitOk;
    }
    if (!error->empty()) {
      err << "hftguard maintenance: " << *error << "\n";
      return kExitFailed;
    }
    // `end`: a window of this host's file for the component would go on holding its daemon.
    const bool here = std::any_of(local->begin(), local->end(),
                                  [&](const auto& e) { return e.component == component; });
    if (action == "end" && here) {
      if (why = control::updateMaintenance(cfg->maintenance_path, change); !why.empty()) {
        err << "hftguard maintenance: the cluster's window ended; this host's not: " << why
            << "\n";
        return kExitFailed;
      }
      changed("cluster+host", fmt::format("cluster {}, every daemon; and this host's window, {}",
                                          cfg->coordination.cluster, cfg->maintenance_path));
      return kExitOk;
    }
    changed("cluster", fmt::format("cluster {}, every daemon", cfg->coordination.cluster));
    return kExitOk;
  }
  if (action == "list") {
    change(*local);
    if (local->empty() && !json) fmt::print(out, "no maintenance\n");
    listWindows(out, *local, "", "host", now, into);
    if (json) printJson(out, {{"windows", windows}});
    return kExitOk;
  }
  if (why = control::updateMaintenance(cfg->maintenance_path, change); !why.empty()) {
    err << "hftguard maintenance: " << why << "\n";
    return kExitFailed;
  }
  changed("host", cfg->maintenance_path);
  return kExitOk;
}

}  // namespace hftguard::cli

// hftguard maintenance start|end|list: maintenance windows for a component or the whole
// node. The running daemon picks a change up within a second; it also survives restarts.
#include <cstdlib>
#include <ostream>

#include <fmt/ostream.h>

#include "hftguard/control/maintenance_file.hpp"
#include "hftguard/events/event.hpp"

#include "commands.hpp"

namespace hftguard::cli {
int cmdMaintenance(const Args& args, std::ostream& out, std::ostream& err) {
  const std::string& action = args.positional.front();
  auto cfg = loadOrReport(args.option("config").value_or("/etc/hftguard/hftguard.yaml"), err);
  if (!cfg) return kExitFailed;
  const std::string component = args.option("component").value_or("");
  if (!component.empty() && cfg->findComponent(component) == nullptr) {
    err << "hftguard maintenance: no component '" << component << "'\n";
    return kExitUsage;
  }
  std::string why;
  auto entries = control::readMaintenance(cfg->maintenance_path, &why);
  if (!entries) {
    err << "hftguard maintenance: " << why << "\n";
    return kExitFailed;
  }
  const WallTime now = std::chrono::system_clock::now();
  std::erase_if(*entries, [&](const auto& e) {
    return e.expires <= now || (action != "list" && e.component == component);
  });
  if (action == "list") {
    if (entries->empty()) fmt::print(out, "no maintenance\n");
    for (const auto& e : *entries) {
      fmt::print(out, "{:<20} until {}  by {}: {}\n",
                 e.component.empty() ? "(whole node)" : e.component,
                 events::formatTimestamp(e.expires), e.owner, e.reason);
    }
    return kExitOk;
  }
  if (action == "start") {
    auto length = parseDuration(args.option("for").value_or(""));
    const auto reason = args.option("reason");
    if (!length || *length <= Duration::zero() || *length > std::chrono::hours(24 * 7) || !reason) {
      err << "hftguard maintenance start: --for DURATION (up to 7d) and --reason TEXT are "
             "required\n";
      return kExitUsage;
    }
    entries->push_back({component, args.option("owner").value_or(operatorName()), *reason,
                        now + std::chrono::duration_cast<WallTime::duration>(*length)});
  } else if (action != "end") {
    err << "hftguard maintenance: start, end or list\n";
    return kExitUsage;
  }
  if (!control::writeMaintenance(cfg->maintenance_path, *entries, &why)) {
    err << "hftguard maintenance: " << why << "\n";
    return kExitFailed;
  }
  fmt::print(out, "maintenance of {} {} ({})\n", component.empty() ? "the whole node" : component,
             action == "start" ? "started" : "ended", cfg->maintenance_path);
  return kExitOk;
}

}  // namespace hftguard::cli

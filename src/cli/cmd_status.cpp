// hftguard status: what the running daemon sees (its control API), else the roles as stored.
// hftguard pause / resume: automatic failover held on this node, or the whole cluster with
// etcd, until resumed - through the daemon when it runs, else where it reads them.
#include <ostream>

#include <fmt/ostream.h>

#include "hftguard/control/client.hpp"
#include "hftguard/control/maintenance_file.hpp"

#include "commands.hpp"

namespace hftguard::cli {
namespace {

constexpr const char* kDefaultConfig = "/etc/hftguard/hftguard.yaml";

std::string str(const nlohmann::json& j, const char* key, const std::string& otherwise = "-") {
  auto it = j.find(key);
  return it != j.end() && it->is_string() && !it->get<std::string>().empty()
             ? it->get<std::string>()
             : otherwise;
}

std::string joined(const nlohmann::json& list) {
  std::string out;
  if (!list.is_array()) return "-";
  for (const auto& x : list) out += (out.empty() ? "" : ",") + x.get<std::string>();
  return out.empty() ? "-" : out;
}

std::string lastFailoverText(const nlohmann::json& f) {
  if (!f.is_object()) return "-";
  const std::string outcome = str(f, "outcome");
  std::string out = (f.value("dry_run", false) ? "dry run " : "") + outcome + " " +
                    str(f, outcome == "running" ? "started" : "ended", "");
  if (f.contains("rto_ms")) {
    out += fmt::format(" RTO {:.1f}s/{:.0f}s{}", f["rto_ms"].get<double>() / 1000,
                       f.value("rto_target_ms", 0.0) / 1000,
                       f.value("rto_met", true) ? "" : " MISSED");
  }
  if (f.contains("failed_step")) out += " at " + str(f, "failed_step");
  return out;
}

void printStatus(std::ostream& out, const nlohmann::json& s) {
  const auto& co = s["coordination"];
  fmt::print(out, "hftguard {} on node {} (site {}), pid {}, since {}\n", str(s, "version"),
             str(s, "node"), str(s, "site"), s.value("pid", 0), str(s, "started"));
  if (str(co, "type") == "etcd") {
    const std::string leader = str(co, "leader", "none");
    fmt::print(out, "coordination: etcd cluster {}, leader {}{}\n", str(co, "cluster"), leader,
               co.value("leading", false) ? " (this daemon)" : "");
  } else {
    fmt::print(out, "coordination: local (this daemon acts)\n");
  }
  if (s["paused"].is_object()) {
    fmt::print(out, "automation: PAUSED by {}: {} (hftguard resume)\n", str(s["paused"], "owner"),
               str(s["paused"], "reason"));
  } else {
    fmt::print(out, "automation: on\n");
  }
  for (const auto& w : s["maintenance"]) {
    fmt::print(out, "maintenance: {} until {} by {}: {}\n", str(w, "component", "(whole node)"),
               str(w, "expires"), str(w, "owner"), str(w, "reason"));
  }
  fmt::print(out, "\n{:<18} {:<11} {:<6} {:<12} {:<26} {:<12} {}\n", "COMPONENT", "HEALTH",
             "EPOCH", "PRIMARY", "STANDBY", "FENCED", "LAST FAILOVER");
  for (const auto& [name, c] : s["components"].items()) {
    std::string health = str(c, "health");
    if (c.value("maintenance", false)) health += "*";
    if (c.value("plan_running", false)) health += "!";
    const auto& r = c["roles"];
    std::string standby = "-";
    if (c.contains("standby") && c["standby"].is_object()) {
      const auto& sb = c["standby"];
      standby = str(sb, "member") + (sb.value("ready", false) ? " (ready)" : " (NOT ready)");
    }
    fmt::print(out, "{:<18} {:<11} {:<6} {:<12} {:<26} {:<12} {}\n", name, health,
               r.is_object() ? std::to_string(r.value("epoch", 0)) : "-",
               r.is_object() ? str(r, "primary") : "-", standby,
               r.is_object() ? joined(r["fenced"]) : "-", lastFailoverText(c["last_failover"]));
    if (c.value("held", false)) {
      fmt::print(out, "  held: an interrupted plan waits for an operator (hftguard failover {} "
                      "--resume | --abandon)\n", name);
    }
    if (c.contains("standby") && c["standby"].is_object() && c["standby"].contains("why")) {
      fmt::print(out, "  standby: {}\n", str(c["standby"], "why"));
    }
    for (const auto& k : c["checks"]) {
      const std::string st = str(k, "status");
      if (st == "ok" || st == "pending") continue;
      fmt::print(out, "  {} {}: {}\n", str(k, "name"), st, str(k, "reason"));
    }
  }
  fmt::print(out, "\n(* maintenance, ! plan running)\n");
}

// The daemon's answer as an exit code, printing its error.
int failed(std::ostream& err, const char* command, const control::ClientAnswer& a) {
  const auto j = nlohmann::json::parse(a.body, nullptr, false);
  fmt::print(err, "hftguard {}: the daemon refused (HTTP {}): {}\n", command, a.status,
             j.is_object() ? j.value("error", a.body) : a.body);
  return kExitFailed;
}

int pauseOrResume(const Args& args, std::ostream& out, std::ostream& err, bool pause) {
  const char* name = pause ? "pause" : "resume";
  auto cfg = loadOrReport(args.option("config").value_or(kDefaultConfig), err);
  if (!cfg) return kExitFailed;
  const std::string owner = args.option("owner").value_or(operatorName());
  const std::string reason = args.option("reason").value_or("");
  if (pause && reason.empty()) {
    fmt::print(err, "hftguard pause: --reason TEXT is required\n");
    return kExitUsage;
  }
  const bool asJson = args.flag("json");
  if (cfg->control_api.token) {  // a change needs the token; without one, the files only
    const auto a = control::callDaemon(cfg->control_api, "POST", pause ? "/pause" : "/resume",
                                       nlohmann::json{{"owner", owner}, {"reason", reason}}.dump());
    if (a.reached) {
      if (a.status != 200) return failed(err, name, a);
      if (asJson) {
        out << a.body;
      } else {
        const auto j = nlohmann::json::parse(a.body, nullptr, false);
        fmt::print(out, "automatic failover {} ({}), through the daemon\n",
                   pause ? "paused" : "resumed", j.is_object() ? str(j, "scope") : "?");
      }
      return kExitOk;
    }
  }
  const std::string why = storeWindows(
      *cfg, [&](std::vector<control::MaintenanceEntry>& entries) -> std::string {
        const bool was = std::any_of(entries.begin(), entries.end(), control::isPause);
        if (!pause && !was) return "automation is not paused";
        std::erase_if(entries, control::isPause);
        if (pause) entries.push_back({"", owner, reason, control::untilResumed()});
        return "";
      });
  if (!why.empty()) {
    fmt::print(err, "hftguard {}: {}\n", name, why);
    return kExitFailed;
  }
  const std::string scope = cfg->coordination.type == "etcd"
                                ? "cluster " + cfg->coordination.cluster + ", every daemon"
                                : "node " + cfg->node.name + ": " + cfg->maintenance_path;
  if (asJson) {
    out << nlohmann::json{{"paused", pause}, {"scope", scope}, {"owner", owner}, {"reason", reason}}
               .dump()
        << "\n";
  } else {
    fmt::print(out, "automatic failover {} ({}); a running daemon applies it within a second\n",
               pause ? "paused" : "resumed", scope);
  }
  return kExitOk;
}

}  // namespace

int cmdStatus(const Args& args, std::ostream& out, std::ostream& err) {
  auto cfg = loadOrReport(args.option("config").value_or(kDefaultConfig), err);
  if (!cfg) return kExitFailed;
  const auto a = control::callDaemon(cfg->control_api, "GET", "/status");
  if (!a.reached) {
    fmt::print(err, "hftguard status: {}; the roles as stored:\n", a.error);
    return statusFromStore(args, out, err);
  }
  if (a.status != 200) return failed(err, "status", a);
  const auto j = nlohmann::json::parse(a.body, nullptr, false);
  if (!j.is_object() || !j.contains("components")) {
    fmt::print(err, "hftguard status: the daemon's answer is not a status\n");
    return kExitFailed;
  }
  if (args.flag("json")) {
    out << j.dump(2) << "\n";
  } else {
    printStatus(out, j);
  }
  // Exit 1 when a component is failed or held: scripts and monitors can use it.
  for (const auto& [name, c] : j["components"].items()) {
    if (str(c, "health") == "failed" || c.value("held", false)) return kExitFailed;
  }
  return kExitOk;
}

int cmdPause(const Args& args, std::ostream& out, std::ostream& err) {
  return pauseOrResume(args, out, err, true);
}

int cmdResume(const Args& args, std::ostream& out, std::ostream& err) {
  return pauseOrResume(args, out, err, false);
}

}  // namespace hftguard::cli

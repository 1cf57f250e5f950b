// The control API's client commands.
// hftguard status: what the running daemon sees (its control API), else the roles as stored.
// hftguard pause / resume: automatic failover held on this node, or the whole cluster with
// etcd, until resumed - through the daemon when it runs, else where it reads them.
// hftguard reload: the daemon applies its config again, or says why not.
// hftguard switchover: the daemon runs one; each check and step printed as it is recorded.
#include <ostream>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/ostream.h>

#include "hftguard/control/client.hpp"
#include "hftguard/control/maintenance_file.hpp"
#include "hftguard/events/fields.hpp"

#include "commands.hpp"

namespace hftguard::cli {
namespace {


// The daemon's answer read without trusting its shape (another version may have written it).
nlohmann::json at(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nlohmann::json() : *it;
}
nlohmann::json list(const nlohmann::json& j, const char* key) {
  auto v = at(j, key);
  return v.is_array() ? v : nlohmann::json::array();
}
double num(const nlohmann::json& j, const char* key) { return events::numberField(j, key); }

std::string str(const nlohmann::json& j, const char* key, const std::string& otherwise = "-") {
  if (!j.is_object()) return otherwise;
  auto it = j.find(key);
  return it != j.end() && it->is_string() && !it->get<std::string>().empty()
             ? it->get<std::string>()
             : otherwise;
}

std::string joined(const nlohmann::json& list) {
  std::string out;
  if (!list.is_array()) return "-";
  for (const auto& x : list) out += (out.empty() ? "" : ",") + (x.is_string() ? x.get<std::string>() : x.dump());
  return out.empty() ? "-" : out;
}

std::string lastFailoverText(const nlohmann::json& f) {
  if (!f.is_object()) return "-";
  const std::string outcome = str(f, "outcome");
  std::string out = (at(f, "dry_run") == true ? "dry run " : "") + outcome + " " +
                    str(f, outcome == "running" ? "started" : "ended", "");
  if (num(f, "rto_ms") > 0) {
    out += fmt::format(" RTO {:.1f}s/{:.0f}s{}", num(f, "rto_ms") / 1000,
                       num(f, "rto_target_ms") / 1000, at(f, "rto_met") == false ? " MISSED" : "");
  }
  if (f.contains("failed_step")) out += " at " + str(f, "failed_step");
  return out;
}

void printStatus(std::ostream& out, const nlohmann::json& s) {
  const nlohmann::json co = at(s, "coordination");
  fmt::print(out, "hftguard {} on node {} (site {}), pid {}, since {}\n", str(s, "version"),
             str(s, "node"), str(s, "site"), at(s, "pid").dump(), str(s, "started"));
  if (str(co, "type") == "etcd") {
    const std::string leader = str(co, "leader", "none");
    fmt::print(out, "coordination: etcd cluster {}, leader {}{}\n", str(co, "cluster"), leader,
               at(co, "leading") == true ? " (this daemon)" : "");
  } else {
    fmt::print(out, "coordination: local (this daemon acts)\n");
  }
  if (at(s, "paused").is_object()) {
    fmt::print(out, "automation: PAUSED by {}: {} (hftguard resume)\n", str(at(s, "paused"), "owner"),
               str(at(s, "paused"), "reason"));
  } else {
    fmt::print(out, "automation: on\n");
  }
  const nlohmann::json windows = list(s, "maintenance");
  for (const auto& w : windows) {
    fmt::print(out, "maintenance: {} until {} by {}: {}\n", str(w, "component", "(whole node)"),
               str(w, "expires"), str(w, "owner"), str(w, "reason"));
  }
  fmt::print(out, "\n{:<18} {:<11} {:<6} {:<12} {:<26} {:<12} {}\n", "COMPONENT", "HEALTH",
             "EPOCH", "PRIMARY", "STANDBY", "FENCED", "LAST FAILOVER");
  const nlohmann::json components = at(s, "components");
  for (const auto& [name, c] : components.items()) {
    std::string health = str(c, "health");
    if (at(c, "maintenance") == true) health += "*";
    if (at(c, "plan_running") == true) health += "!";
    const nlohmann::json r = at(c, "roles");
    std::string standby = "-";
    if (at(c, "standby").is_object()) {
      const nlohmann::json sb = at(c, "standby");
      const auto ready = at(sb, "ready");
      standby = str(sb, "member") + (ready == true    ? " (ready)"
                                     : ready == false ? " (NOT ready)"
                                                      : " (not probed)");
    }
    fmt::print(out, "{:<18} {:<11} {:<6} {:<12} {:<26} {:<12} {}\n", name, health,
               r.is_object() ? at(r, "epoch").dump() : "-",
               r.is_object() ? str(r, "primary") : "-", standby,
               r.is_object() ? joined(at(r, "fenced")) : "-", lastFailoverText(at(c, "last_failover")));
    if (at(c, "held") == true) {
      fmt::print(out, "  held: an interrupted plan waits for an operator (hftguard failover {} "
                      "--resume | --abandon)\n", name);
    }
    if (c.contains("standby") && c["standby"].is_object() && c["standby"].contains("why")) {
      fmt::print(out, "  standby: {}\n", str(c["standby"], "why"));
    }
    const nlohmann::json checks = list(c, "checks");
    for (const auto& k : checks) {
      const std::string st = str(k, "status");
      if (st == "ok" || st == "pending") continue;
      fmt::print(out, "  {} {}: {}\n", str(k, "name"), st, str(k, "reason"));
    }
  }
  if (s.contains("daemons") && s["daemons"].is_object()) {
    fmt::print(out, "\nDAEMON       LEADS  HEALTH SEEN\n");
    for (const auto& [node, d] : s["daemons"].items()) {
      std::string seen;
      if (d.contains("health") && d["health"].is_object()) {
        for (const auto& [c, h] : d["health"].items())
          seen += fmt::format(" {}={}", c, h.is_string() ? h.get<std::string>() : "?");
      }
      fmt::print(out, "{:<12} {:<6}{}\n", node, at(d, "leading") == true ? "yes" : "no", seen);
    }
  }
  for (const auto& [name, c] : components.items()) {
    if (at(c, "plan_in_flight").is_object()) {
      const nlohmann::json p = at(c, "plan_in_flight");
      fmt::print(out, "plan in flight for {}: {} by {}, {} steps done\n", name, str(p, "plan"),
                 str(p, "node"), at(p, "steps_done").dump());
    }
  }
  fmt::print(out, "\n(* maintenance, ! plan running)\n");
}

// The daemon's answer as an exit code, printing its error.
int failed(std::ostream& err, const char* command, const control::ClientAnswer& a) {
  if (a.status == 0) {
    fmt::print(err, "hftguard {}: {} (it may have acted: check with hftguard status)\n", command,
               a.error);
    return kExitFailed;
  }
  const auto j = nlohmann::json::parse(a.body, nullptr, false);
  fmt::print(err, "hftguard {}: the daemon refused (HTTP {}): {}\n", command, a.status,
             j.is_object() ? j.value("error", a.body) : a.body);
  return kExitFailed;
}

int pauseOrResume(const Args& args, std::ostream& out, std::ostream& err, bool pause) {
  const char* name = pause ? "pause" : "resume";
  auto cfg = loadOrReport(args.config, err);
  if (!cfg) return kExitFailed;
  const std::string owner = args.option("owner").value_or(operatorName());
  const std::string reason = args.option("reason").value_or("");
  if (pause && reason.empty()) {
    fmt::print(err, "hftguard pause: --reason TEXT is required\n");
    return kExitUsage;
  }
  const bool asJson = args.flag("json");
  if (cfg->control_api.token) {  // a change needs the token; without one, the files only
    // Longer than the daemon's own reply deadline (30 s): its answer, not a timeout here.
    const auto a = control::callDaemon(cfg->control_api, "POST", pause ? "/pause" : "/resume",
                                       nlohmann::json{{"owner", owner}, {"reason", reason}}.dump(),
                                       std::chrono::seconds(40));
    if (a.reached) {
      if (a.status != 200 && a.status != 202) return failed(err, name, a);
      if (a.status == 202) {  // stored in etcd, not yet read back here: said, not an error
        const auto w = nlohmann::json::parse(a.body, nullptr, false);
        fmt::print(err, "hftguard {}: {}\n", name, w.is_object() ? str(w, "warning") : a.body);
      }
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
  const std::string why = storeWindows(*cfg, control::pauseChange(pause, owner, reason));
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
  auto cfg = loadOrReport(args.config, err);
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
  nlohmann::json status = j;
  // With etcd: what every daemon reports and a plan in flight, from etcd (one daemon's view
  // is its own; the cluster's is there).
  if (cfg->coordination.type == "etcd") {
    std::ostringstream quiet;
    nlohmann::json store;
    storeStatus(*cfg, false, quiet, err, store);
    if (store.contains("daemons")) status["daemons"] = store["daemons"];
    for (const auto& [name, c] : store["components"].items()) {
      if (c.contains("plan_in_flight") && status["components"].contains(name)) {
        status["components"][name]["plan_in_flight"] = c["plan_in_flight"];
      }
    }
  }
  if (args.flag("json")) {
    out << status.dump(2) << "\n";
  } else {
    printStatus(out, status);
  }
  return kExitOk;  // it could say; what it said is in the output (--json for scripts)
}

int cmdPause(const Args& args, std::ostream& out, std::ostream& err) {
  return pauseOrResume(args, out, err, true);
}

int cmdResume(const Args& args, std::ostream& out, std::ostream& err) {
  return pauseOrResume(args, out, err, false);
}

// hftguard reload: the file is checked here first (an invalid one is never sent, and the
// daemon keeps its config), then the daemon reads it again and applies it or says why not.
int cmdReload(const Args& args, std::ostream& out, std::ostream& err) {
  auto cfg = loadOrReport(args.config, err);
  if (!cfg) {
    fmt::print(err, "hftguard reload: not sent; the running daemon keeps its config\n");
    return kExitFailed;
  }
  if (!cfg->control_api.token) {
    fmt::print(err,
               "hftguard reload: the control API takes changes only with control_api.token; "
               "send SIGHUP instead (systemctl reload hftguard)\n");
    return kExitUsage;
  }
  const auto a = control::callDaemon(cfg->control_api, "POST", "/reload", "{}",
                                     std::chrono::seconds(40));
  if (!a.reached) {
    fmt::print(err, "hftguard reload: {}\n", a.error);
    return kExitFailed;
  }
  const auto j = nlohmann::json::parse(a.body, nullptr, false);
  if (args.flag("json")) out << a.body << "\n";
  if (a.status != 200) {
    if (!args.flag("json") && j.is_object()) {
      for (const auto& e : j.value("errors", nlohmann::json::array())) {
        if (e.is_string()) fmt::print(err, "{}\n", e.get<std::string>());
      }
    }
    return failed(err, "reload", a);
  }
  if (!args.flag("json")) {
    const auto changes = j.is_object() ? j.value("changes", nlohmann::json::array())
                                       : nlohmann::json::array();
    if (changes.empty()) fmt::print(out, "reloaded: nothing changed\n");
    for (const auto& c : changes) {
      if (c.is_string()) fmt::print(out, "reloaded: {}\n", c.get<std::string>());
    }
  }
  return kExitOk;
}

// hftguard switchover C [--candidate M] [--dry-run]: the daemon runs it (the leader, with
// etcd); this prints each check and step as the event log records them, until it ends.
int cmdSwitchover(const Args& args, std::ostream& out, std::ostream& err) {
  auto cfg = loadOrReport(args.config, err);
  if (!cfg) return kExitFailed;
  const std::string component = args.positional.at(0);
  if (cfg->findComponent(component) == nullptr) {
    fmt::print(err, "hftguard switchover: no component '{}'\n", component);
    return kExitUsage;
  }
  if (!cfg->control_api.token) {
    fmt::print(err, "hftguard switchover: the daemon runs it, and takes it only with "
                    "control_api.token configured\n");
    return kExitUsage;
  }
  const bool asJson = args.flag("json");
  const nlohmann::json body = {{"component", component},
                               {"candidate", args.option("candidate").value_or("")},
                               {"dry_run", args.flag("dry-run")},
                               {"owner", args.option("owner").value_or(operatorName())},
                               {"reason", args.option("reason").value_or("")}};
  const auto a = control::callDaemon(cfg->control_api, "POST", "/switchover", body.dump(),
                                     std::chrono::seconds(40));
  if (!a.reached) {
    fmt::print(err, "hftguard switchover: {} (the running daemon does it)\n", a.error);
    return kExitFailed;
  }
  if (a.status != 202) return failed(err, "switchover", a);
  const auto started = nlohmann::json::parse(a.body, nullptr, false);
  const std::string id = started.is_object() ? str(started, "id") : "";
  const std::string since = started.is_object() ? str(started, "since") : "";
  // Its events, as they are recorded: the switchover's own and the steps of its plans.
  std::set<std::string> seen;
  std::string outcome;
  const auto until = std::chrono::steady_clock::now() + std::chrono::minutes(30);
  auto last_answer = std::chrono::steady_clock::now();
  while (outcome.empty() && std::chrono::steady_clock::now() < until) {
    if (std::chrono::steady_clock::now() - last_answer > std::chrono::seconds(15)) {
      fmt::print(err, "hftguard switchover: the daemon stopped answering; what became of {} is "
                      "in its event log (hftguard events --component {})\n", id, component);
      return kExitFailed;
    }
    const auto e = control::callDaemon(
        cfg->control_api, "GET",
        "/events?component=" + control::escapeQuery(component) +
            "&since=" + control::escapeQuery(since) +
            "&type=switchover_started,switchover_check,switchover_checks_failed,step_done,"
            "step_failed,failover_started,failover_completed,failover_failed,roles_changed,"
            "switchover_completed,switchover_failed,switchover_refused&limit=10000");
    const auto j = nlohmann::json::parse(e.body, nullptr, false);
    if (e.status != 0) last_answer = std::chrono::steady_clock::now();
    if (e.status == 200 && j.is_object() && j["events"].is_array()) {
      bool ours = false;
      for (const auto& ev : j["events"]) {
        const std::string eid = str(ev, "id");
        const std::string type = str(ev, "type");
        if (eid == id) ours = true;
        if (!ours || !seen.insert(eid).second) continue;
        if (asJson) {
          out << ev.dump() << "\n";
        } else {
          const bool bad = type.ends_with("_failed") || type == "switchover_refused" ||
                           (type == "switchover_check" && !ev.value("ok", true));
          fmt::print(out, "{} {:<20} {}\n", bad ? "✗" : "✓", type, str(ev, "reason"));
        }
        if (type == "switchover_completed" || type == "switchover_failed" ||
            type == "switchover_refused") {
          outcome = type;
        }
      }
    }
    if (outcome.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  if (outcome.empty()) {
    fmt::print(err, "hftguard switchover: {} still runs after 30 minutes; follow it with "
                    "hftguard events --follow --component {}\n", id, component);
    return kExitFailed;
  }
  return outcome == "switchover_completed" ? kExitOk : kExitFailed;
}

}  // namespace hftguard::cli

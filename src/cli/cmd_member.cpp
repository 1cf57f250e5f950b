// hftguard member [--config F] COMPONENT [MEMBER (--ready | --fence)] [--reason TEXT]:
// a component's roles as the cluster state has them, and an operator's changes to them. A
// failover leaves its old primary fenced; once it is rebuilt (a standby again), --ready
// returns it, and the next failover may go back to it. --fence takes a standby out (before
// rebuilding it). The running daemon adopts a change within a second; each is recorded.
//
// hftguard status [--config F] [--json]: every component's roles and epoch.
#include <cstdlib>
#include <ostream>

#include <fmt/ostream.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "hftguard/actions/plan_journal.hpp"
#include "hftguard/coord/cluster_state.hpp"
#include "hftguard/coord/etcd_coordinator.hpp"
#include "hftguard/coord/state_file.hpp"

#include "commands.hpp"
#include "recorder.hpp"
#include "roles.hpp"
#include "runtime.hpp"

namespace hftguard::cli {
namespace {

std::string names(const std::vector<std::string>& v) {
  return v.empty() ? "-" : fmt::format("{}", fmt::join(v, ","));
}

void printRoles(std::ostream& out, const std::string& name, const coord::Roles& r) {
  fmt::print(out, "{:<20} primary {:<14} standbys {:<20} fenced {:<16} epoch {}{}\n", name,
             r.primary, names(r.standbys), names(r.fenced), r.epoch,
             r.last_failover ? fmt::format("  (last failover {} -> {} at {})",
                                           r.last_failover->from, r.last_failover->to,
                                           r.last_failover->at)
                             : "");
}

// With etcd: the component's roles there, changed by `change` (nullptr: only read).
std::string inEtcd(const config::Config& cfg, const config::ComponentConfig& c,
                   std::function<std::string(coord::Roles&)> change, coord::Roles& out) {
  Runtime rt(cfg);
  coord::EtcdClient etcd(rt.http, coord::etcdOptions(cfg));
  std::optional<std::string> result;
  const bool reading = !change;
  // Reading only: a change that keeps what it read and refuses to write.
  if (reading) {
    change = [&out](coord::Roles& r) {
      out = r;
      return std::string("(read only)");
    };
  }
  coord::updateRolesInEtcd(etcd, cfg, c, change,
                           [&](std::string error, coord::Roles after) {
                             if (!reading) out = std::move(after);
                             result = reading && error == "(read only)" ? "" : error;
                           });
  turnUntil(rt.io, [&] { return static_cast<bool>(result); });
  return result.value_or("etcd did not answer within 10 s");
}

}  // namespace

std::optional<coord::Roles> readRoles(const config::Config& cfg, const config::ComponentConfig& c,
                                      std::string* why) {
  if (cfg.coordination.type != "etcd") return currentRoles(c, coord::StateFile(stateFilePath(cfg)), why);
  coord::Roles read;
  *why = inEtcd(cfg, c, nullptr, read);
  return why->empty() ? std::optional(read) : std::nullopt;
}

std::string changeMember(const config::Config& cfg, const config::ComponentConfig& c,
                         const std::string& member, bool ready, const std::string& reason,
                         coord::Roles& after) {
  auto change = [&](coord::Roles& r) {
    return ready ? coord::markReady(r, member) : coord::markFenced(r, member);
  };
  if (cfg.coordination.type == "etcd") {  // the leader's commit compares the key's revision
    if (std::string why = inEtcd(cfg, c, change, after); !why.empty()) return why;
  } else {
    // Never under a plan in flight: it was admitted on the roles as they were (its target
    // a standby); the component's plan lock keeps the roles still until it ends.
    coord::Grant grant;
    auto lock = localCoordinator(cfg)->acquire(c.name, grant);
    if (!lock) return "a plan runs for " + c.name + " (" + grant.reason + "); try again once it has ended";
    const coord::StateFile file(stateFilePath(cfg));
    const std::string why = file.update([&](coord::ClusterState& s) {
      auto it = s.components.find(c.name);
      std::string bad;
      auto r = it == s.components.end() ? std::optional(coord::initialRoles(c))
                                        : coord::fitRoles(c, it->second, &bad);
      if (!r) return bad;
      if (bad = change(*r); !bad.empty()) return bad;
      after = *r;
      s.components[c.name] = *r;
      return std::string();
    });
    if (!why.empty()) return why;
  }
  recordNow(cfg, ready ? "member_ready" : "member_fenced", c.name, reason,
            {{"member", member}, {"roles", coord::toJson(after)}});
  return {};
}

events::Event recordNow(const config::Config& cfg, const std::string& type,
                        const std::string& component, const std::string& reason,
                        nlohmann::json fields) {
  Runtime rt(cfg);
  events::EventLog log({cfg.event_log_path, static_cast<std::size_t>(cfg.event_queue_limit),
                        nullptr, nullptr, &rt.io});
  Recorder recorder(log, cfg.node.name, rt.clock);
  events::Event e = recorder.record(type, component, reason, std::move(fields));
  bool written = false;
  recorder.afterDurable([&] { written = true; });
  turnUntil(rt.io, [&] { return static_cast<bool>(written); });
  return e;
}

int cmdMember(const Args& args, std::ostream& out, std::ostream& err) {
  auto cfg = loadOrReport(args.config, err);
  if (!cfg) return kExitFailed;
  const std::string& name = args.positional.front();
  const config::ComponentConfig* c = cfg->findComponent(name);
  if (c == nullptr) {
    err << "hftguard member: no component '" << name << "'\n";
    return kExitUsage;
  }
  if (c->members.empty()) {
    err << "hftguard member: " << name << " has no members: its roles are not tracked\n";
    return kExitUsage;
  }
  const bool ready = args.flag("ready");
  const bool fence = args.flag("fence");
  if (args.positional.size() == 1) {
    if (ready || fence) {
      err << "hftguard member: --ready and --fence need a MEMBER\n";
      return kExitUsage;
    }
    std::string why;
    auto r = readRoles(*cfg, *c, &why);
    if (!r) {
      err << "hftguard member: " << why << "\n";
      return kExitFailed;
    }
    if (args.json()) {
      printJson(out, {{"component", name}, {"roles", coord::toJson(*r)}});
    } else {
      printRoles(out, name, *r);
    }
    return kExitOk;
  }
  const std::string& member = args.positional[1];
  if (ready == fence) {
    err << "hftguard member: say --ready (return a rebuilt member) or --fence (take it out)\n";
    return kExitUsage;
  }
  if (c->findMember(member) == nullptr) {
    err << "hftguard member: " << name << " has no member '" << member << "'\n";
    return kExitUsage;
  }
  const std::string reason = args.option("reason").value_or(
      fmt::format("{} {} by {}", member, ready ? "marked ready" : "fenced", operatorName()));
  coord::Roles after;
  if (std::string why = changeMember(*cfg, *c, member, ready, reason, after); !why.empty()) {
    err << "hftguard member: " << name << ": " << why << "\n";
    return kExitFailed;
  }
  if (args.json()) {
    printJson(out, {{"component", name},
                    {"member", member},
                    {"change", ready ? "ready" : "fenced"},
                    {"roles", coord::toJson(after)}});
  } else {
    printRoles(out, name, after);
  }
  return kExitOk;
}

// `hftguard status [--json]`: the coordination (with etcd: the cluster, its leader), each
// component's roles and epoch, and a plan in flight (etcd: its journal in the cluster).
int statusFromStore(const Args& args, std::ostream& out, std::ostream& err) {
  auto cfg = loadOrReport(args.config, err);
  if (!cfg) return kExitFailed;
  nlohmann::json json;
  const int status = storeStatus(*cfg, !args.json(), out, err, json);
  if (args.json()) printJson(out, json);
  return status;
}

int storeStatus(const config::Config& cfgRef, bool print, std::ostream& out, std::ostream& err,
                nlohmann::json& json) {
  const config::Config* cfg = &cfgRef;
  const bool asJson = !print;
  const coord::StateFile file(stateFilePath(*cfg));
  json = {{"coordination", {{"type", cfg->coordination.type}}},
          {"components", nlohmann::json::object()}};
  int status = kExitOk;
  std::optional<coord::ClusterView> view;
  if (cfg->coordination.type == "etcd") {
    Runtime rt(*cfg);
    coord::EtcdClient etcd(rt.http, coord::etcdOptions(*cfg));
    std::optional<std::string> error;
    coord::readClusterInEtcd(etcd, *cfg, [&](std::string e, coord::ClusterView v) {
      view = std::move(v);
      error = std::move(e);
    });
    turnUntil(rt.io, [&] { return static_cast<bool>(error); });
    if (!error || !error->empty()) {
      err << "hftguard status: " << error.value_or("etcd did not answer within 10 s") << "\n";
      return kExitFailed;
    }
    for (const auto& p : view->problems) err << "hftguard status: " << p << "\n";
    json["coordination"].update({{"cluster", cfg->coordination.cluster},
                                 {"leader", view->leader.empty() ? nlohmann::json()
                                                                 : nlohmann::json(view->leader)}});
    nlohmann::json daemons = nlohmann::json::object();
    for (const auto& [node, text] : view->daemons) {
      daemons[node] = nlohmann::json::parse(text, nullptr, false);
      if (daemons[node].is_discarded()) daemons[node] = {{"error", "not a report"}};
    }
    json["daemons"] = daemons;
    if (!asJson) {
      fmt::print(out, "cluster {} (etcd): {}\n", cfg->coordination.cluster,
                 view->leader.empty() ? "no leader (an election is under way, or no daemon runs)"
                                      : "leader " + view->leader);
      for (const auto& [node, d] : daemons.items()) {
        std::string seen;
        if (d.contains("health") && d["health"].is_object()) {
          for (const auto& [c, h] : d["health"].items())
            seen += fmt::format(" {}={}", c, h.is_string() ? h.get<std::string>() : "?");
        }
        fmt::print(out, "  daemon {:<12}{}{}\n", node, d.value("leading", false) ? " (leads)" : "",
                   seen);
      }
    }
  }
  for (const config::ComponentConfig& c : cfg->components) {
    nlohmann::json entry = {{"roles", nullptr}};
    if (c.members.empty()) {
      if (!asJson) fmt::print(out, "{:<20} roles not tracked (no members)\n", c.name);
    } else {
      std::string why;
      std::optional<coord::Roles> r;
      if (view) {
        if (view->roles.count(c.name)) {
          r = view->roles.at(c.name);
        } else {
          why = c.name + ": its roles in etcd cannot be read";
        }
      } else {
        r = currentRoles(c, file, &why);
      }
      if (!r) {
        err << "hftguard status: " << why << "\n";
        status = kExitFailed;
      } else {
        entry["roles"] = coord::toJson(*r);
        if (!asJson) printRoles(out, c.name, *r);
      }
    }
    if (view && view->plans.count(c.name)) {
      const coord::KeyValue& kv = view->plans.at(c.name);
      std::string why;
      auto j = actions::parseJournal(kv.value, c.name, &why);
      nlohmann::json plan = {{"key", kv.key}};
      if (j) {
        plan.update({{"plan", j->plan},
                     {"node", j->node},
                     {"steps_done", j->steps_done},
                     {"last_step", j->last_step},
                     {"epoch", j->epoch},
                     {"started", j->started}});
        if (!j->failed.empty()) plan["failed"] = j->failed;
      } else {
        plan["error"] = why;
      }
      entry["plan_in_flight"] = plan;
      if (!asJson) {
        fmt::print(out, "{:<20} plan in flight: {}\n", "",
                   j ? fmt::format("{} by {}, {} steps done{}{}", j->plan, j->node, j->steps_done,
                                   j->last_step.empty() ? "" : " (last: " + j->last_step + ")",
                                   j->failed.empty() ? "" : "; FAILED at " + j->failed)
                     : kv.key + " cannot be read: " + why);
      }
    }
    json["components"][c.name] = entry;
  }
  return status;
}

}  // namespace hftguard::cli

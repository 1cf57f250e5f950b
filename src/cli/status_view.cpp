#include "status_view.hpp"

#include <chrono>

#include "hftguard/events/event.hpp"
#include "hftguard/events/fields.hpp"
#include "hftguard/probes/result.hpp"

namespace hftguard::cli {
using events::flagField;
using events::numberField;
using events::textField;

void StatusBook::onProbe(const probes::ProbeResult& r) {
  Last& l = last_[r.component][r.check];
  l.status = std::string(probes::toString(r.status));
  l.reason = r.reason;
  l.latency_ms = std::chrono::duration<double, std::milli>(r.latency).count();
  l.at = events::formatTimestamp(r.at);
  l.informational = r.informational;
}

void StatusBook::onEvent(const events::Event& e) {
  if (e.component.empty()) return;
  if (flagField(e.fields, "self_fence")) return;  // a host's self-fence is not the component's failover
  auto stamped = [&e] {
    nlohmann::json j = e.fields;
    j["ts"] = events::formatTimestamp(e.at);
    j["reason"] = e.reason;
    j["node"] = e.node;
    return j;
  };
  // A dry run (a takeover's re-verification, `failover --dry-run`) is not the last failover.
  if (flagField(e.fields, "dry_run")) return;
  if (e.type == "failover_started") {
    plans_[e.component] = Plan{stamped(), nlohmann::json::array(), nullptr};
    return;
  }
  auto it = plans_.find(e.component);
  if (it == plans_.end()) return;
  Plan& p = it->second;
  if (e.type == "step_done" || e.type == "step_failed") {
    nlohmann::json s = {{"step", textField(e.fields, "step")},
                        {"action", textField(e.fields, "action")},
                        {"result", e.type == "step_done" ? "done" : "failed"},
                        {"duration_ms", numberField(e.fields, "duration_ms")},
                        {"ts", events::formatTimestamp(e.at)}};
    if (e.type == "step_failed") s["error"] = textField(e.fields, "error");
    p.steps.push_back(std::move(s));
  } else if (e.type == "failover_completed" || e.type == "failover_failed" ||
             e.type == "failover_interrupted") {
    p.ended = stamped();
    p.ended["outcome"] = e.type.substr(9);
  }
}

nlohmann::json StatusBook::checks(const config::ComponentConfig& c) const {
  nlohmann::json out = nlohmann::json::array();
  auto comp = last_.find(c.name);
  for (const auto& k : c.checks) {
    nlohmann::json j = {{"name", k.name}, {"type", k.type}};
    if (comp != last_.end()) {
      if (auto l = comp->second.find(k.name); l != comp->second.end()) {
        j.update({{"status", l->second.status},
                  {"reason", l->second.reason},
                  {"latency_ms", l->second.latency_ms},
                  {"at", l->second.at}});
      }
    }
    if (!j.contains("status")) j["status"] = "pending";
    if (k.informational) j["informational"] = true;
    out.push_back(std::move(j));
  }
  return out;
}

bool StatusBook::primaryAnsweredOk(const config::ComponentConfig& c) const {
  const std::size_t primaries =
      c.role_checks.empty() ? c.checks.size() : c.role_checks.begin()->second.as_primary.size();
  auto comp = last_.find(c.name);
  if (comp == last_.end()) return false;
  for (std::size_t i = 0; i < primaries && i < c.checks.size(); ++i) {
    if (c.checks[i].informational) continue;  // the decider ignores it too
    auto it = comp->second.find(c.checks[i].name);
    if (it == comp->second.end() || it->second.status != "ok") return false;
  }
  return true;
}

nlohmann::json StatusBook::standby(const config::ComponentConfig& c,
                                   const coord::Roles& roles) const {
  if (c.members.empty() || c.role_checks.empty()) return nullptr;
  const std::string member = roles.watched();
  nlohmann::json out = {{"member", member.empty() ? nlohmann::json() : nlohmann::json(member)},
                        {"candidate", roles.candidate()}};
  if (member.empty()) {
    out["ready"] = false;
    out["why"] = "no standby: every other member is fenced";
    return out;
  }
  // The standby's checks come after the primary's (ComponentConfig::checksFor).
  const std::size_t first = c.role_checks.begin()->second.as_primary.size();
  auto comp = last_.find(c.name);
  std::vector<std::string> failing, pending;
  for (std::size_t i = first; i < c.checks.size(); ++i) {
    const auto& k = c.checks[i];
    const Last* l = nullptr;
    if (comp != last_.end()) {
      if (auto it = comp->second.find(k.name); it != comp->second.end()) l = &it->second;
    }
    if (l == nullptr) {
      pending.push_back(k.name);
    } else if (l->status != "ok") {  // (standby checks are informational, all of them)
      failing.push_back(k.name + ": " + l->reason);
    }
  }
  if (std::find(roles.standbys.begin(), roles.standbys.end(), member) == roles.standbys.end()) {
    failing.insert(failing.begin(), member + " is fenced");
  }
  out["ready"] = failing.empty() && pending.empty() && first < c.checks.size();
  if (first >= c.checks.size()) {
    out["ready"] = nullptr;  // nothing watches it: unknown, not "not ready"
    out["why"] = "no standby checks: readiness not observed";
  } else if (!failing.empty()) {
    std::string why;
    for (const auto& f : failing) why += (why.empty() ? "" : "; ") + f;
    out["why"] = why;
  } else if (!pending.empty()) {
    out["why"] = "not probed yet";
  }
  return out;
}

nlohmann::json StatusBook::lastFailover(const std::string& component) const {
  auto it = plans_.find(component);
  if (it == plans_.end()) return nullptr;
  const Plan& p = it->second;
  nlohmann::json out = {{"started", textField(p.started, "ts")},
                        {"plan", textField(p.started, "plan")},
                        {"node", textField(p.started, "node")},
                        {"dry_run", flagField(p.started, "dry_run")},
                        {"steps", p.steps}};
  if (p.ended.is_null()) {
    out["outcome"] = "running";
    return out;
  }
  out["outcome"] = p.ended["outcome"];
  out["ended"] = textField(p.ended, "ts");
  out["reason"] = textField(p.ended, "reason");
  for (const char* key : {"duration_ms", "rto_ms", "rto_target_ms", "rto_met", "new_primary",
                          "epoch", "failed_step", "roles_error"}) {
    if (p.ended.contains(key)) out[key] = p.ended[key];
  }
  return out;
}

nlohmann::json StatusBook::plans() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [component, p] : plans_) out[component] = lastFailover(component);
  return out;
}

}  // namespace hftguard::cli

#include "hftguard/alerts/policy.hpp"

#include <fmt/format.h>

namespace hftguard::alerts {

using config::Severity;
using nlohmann::json;

std::string_view toString(Alert::Action a) {
  return a == Alert::Action::Trigger ? "trigger" : "resolve";
}

namespace {

std::string field(const events::Event& e, const char* key) {
  auto it = e.fields.find(key);
  return it != e.fields.end() && it->is_string() ? it->get<std::string>() : std::string();
}

double number(const events::Event& e, const char* key) {
  auto it = e.fields.find(key);
  return it != e.fields.end() && it->is_number() ? it->get<double>() : -1;
}

// At most a few lines of what the checks saw, newest last.
std::vector<std::string> evidenceOf(const events::Event& e) {
  std::vector<std::string> out;
  auto it = e.fields.find("evidence");
  if (it == e.fields.end() || !it->is_array()) return out;
  const std::size_t from = it->size() > 5 ? it->size() - 5 : 0;
  for (std::size_t i = from; i < it->size(); ++i) {
    const json& s = (*it)[i];
    if (!s.is_object()) continue;
    out.push_back(fmt::format("{} {} {}", s.value("check", ""), s.value("status", ""),
                              s.value("reason", "")));
  }
  return out;
}

}  // namespace

Alert AlertPolicy::make(const events::Event& e, const Incident& i, Severity s,
                        std::string title) const {
  Alert a;
  a.severity = s;
  a.incident = i.key;
  a.node = e.node;
  a.component = e.component;
  a.title = std::move(title);
  a.summary = e.reason;
  a.event_id = e.id;
  a.event_type = e.type;
  a.tier = field(e, "tier");
  a.rule = field(e, "rule");
  a.rto_ms = number(e, "rto_ms");
  a.rto_target_ms = number(e, "rto_target_ms");
  a.evidence = evidenceOf(e);
  a.at = e.at;
  return a;
}

AlertPolicy::Incident& AlertPolicy::open(const events::Event& e) {
  Incident& i = incidents_[e.component];
  if (i.resolve_due) {
    // Failed again before the recovery was announced: the same incident goes on.
    i.resolve_due.reset();
    i.open = true;
    return i;
  }
  i = Incident{};
  i.key = fmt::format("hftguard/{}/{}/{}", e.node, e.component, e.id);
  i.node = e.node;
  i.open = true;
  return i;
}

// The node's event log cannot write (a full disk): one critical incident until it can.
std::vector<Alert> AlertPolicy::onEventLog(const events::Event& e) {
  Incident& i = incidents_["(event log)"];
  if (e.type == "event_log_degraded") {
    if (i.open) return {};
    i = Incident{};
    i.key = fmt::format("hftguard/{}/event-log/{}", e.node, e.id);
    i.node = e.node;
    i.open = true;
    i.any_sent = true;
    i.sent = Severity::Critical;
    return {make(e, i, Severity::Critical, "EVENT LOG NOT WRITING on " + e.node)};
  }
  if (!i.open) return {};
  i.open = false;
  Alert a = make(e, i, Severity::Info, "EVENT LOG WRITING AGAIN on " + e.node);
  a.action = Alert::Action::Resolve;
  return {a};
}

std::vector<Alert> AlertPolicy::onEvent(const events::Event& e) {
  if (e.type == "event_log_degraded" || e.type == "event_log_recovered") return onEventLog(e);
  if (e.component.empty() || e.fields.value("dry_run", false)) return {};
  const std::string& t = e.type;
  // A switchover's plan ending: the switchover's own event follows at once and says it
  // (SWITCHOVER FAILED pages) - never a second page, nor a FAILOVER COMPLETED for a planned
  // move. An interrupted one still pages below: the stack may be half switched.
  if ((t == "failover_completed" || t == "failover_failed") && e.fields.contains("switchover") &&
      !e.fields.contains("roles_error")) {
    return {};
  }
  Incident& cur = incidents_[e.component];
  // The first alert of an incident, or an escalation of one: each severity at most once.
  auto alert = [&](Incident& i, Severity s, std::string title) -> std::vector<Alert> {
    if (i.any_sent && s <= i.sent && s != Severity::Info) return {};
    i.any_sent = true;
    if (s > i.sent) i.sent = s;
    return {make(e, i, s, std::move(title))};
  };
  if (t == "state_changed") {
    const std::string to = field(e, "to");
    if (to == "failed") {
      cur.failed = true;
      if (cur.resolve_due) {
        open(e);  // a flap inside group_window: the incident never closed
        return {};
      }
      // A failure from a known state is followed by the decision (failover triggered or
      // held), which carries the alert; one already down at start-up gets none, so say it.
      if (field(e, "from") != "unknown" || cur.open) return {};
      return alert(open(e), Severity::Warning, "DOWN AT START: " + e.component);
    }
    if (to == "healthy") {
      cur.failed = false;
      if (cur.open && !cur.resolve_due) cur.resolve_due = e.at + std::chrono::duration_cast<WallTime::duration>(group_window_);
      return tick(e.at);
    }
    return {};
  }
  if (t == "failover_triggered") {
    if (cur.open && !cur.resolve_due) return {};  // announced with the failure already
    Incident& i = open(e);
    return alert(i, Severity::Warning, "FAILOVER: " + e.component);
  }
  if (t == "failover_suppressed") {
    const std::string by = field(e, "suppressed_by");
    // (A switchover's own outage, held while it runs, is expected: its end says how it went.)
    if (by == "system" || by == "maintenance" || by == "switchover") return {};
    Incident& i = cur.open ? cur : open(e);
    // Nobody fails it over: automation leaves it to a human, or a gate holds it.
    return alert(i, Severity::Critical, fmt::format("NEEDS ATTENTION ({}): {}", by, e.component));
  }
  if (t == "failover_completed") {
    Incident& i = cur.open ? cur : open(e);
    if (e.fields.contains("roles_error")) {  // the steps ran; the cluster state disagrees
      i.sent = Severity::Info;
      return alert(i, Severity::Critical, "FAILOVER DONE, ROLES NOT MOVED: " + e.component);
    }
    std::vector<Alert> out = alert(i, Severity::Info, "FAILOVER COMPLETED: " + e.component);
    // A followed switch (the component never failed) ends with its failover.
    if (!i.failed && !i.resolve_due) i.resolve_due = e.at + std::chrono::duration_cast<WallTime::duration>(group_window_);
    auto due = tick(e.at);
    out.insert(out.end(), due.begin(), due.end());
    return out;
  }
  // (A dry run's answer is the operator's: it pages nobody.)
  if (t == "failover_skipped" && e.fields.value("no_standby", false) &&
      !e.fields.value("dry_run", false)) {
    // The primary failed and nobody is ready to take over: only a human can help now.
    Incident& i = cur.open ? cur : open(e);
    return alert(i, Severity::Critical, "NO STANDBY READY: " + e.component);
  }
  if (t == "failover_failed") {
    Incident& i = cur.open ? cur : open(e);
    i.sent = Severity::Info;  // every failed failover is said, even after an earlier one
    return alert(i, Severity::Critical, "FAILOVER FAILED: " + e.component);
  }
  if (t == "failover_resumed") {
    // Another daemon's plan, taken up by this leader: the first word of it may be this one
    // (the old leader died before its alerts went out).
    Incident& i = cur.open ? cur : open(e);
    return alert(i, Severity::Warning, "FAILOVER RESUMED BY " + e.node + ": " + e.component);
  }
  if (t == "observer_disagrees") {
    // One view against the others: not a failover, but an observer that may be cut off.
    Incident& i = cur.open ? cur : open(e);
    return alert(i, Severity::Warning, "OBSERVER DISAGREES: " + e.component);
  }
  if (t == "self_fence_started" || t == "self_fence_failed") {
    // This host's primary is being taken out of service by itself: cut off from etcd.
    Incident& i = cur.open ? cur : open(e);
    if (t == "self_fence_failed") i.sent = Severity::Info;
    return alert(i, Severity::Critical,
                 (t == "self_fence_failed" ? "SELF-FENCE FAILED ON " : "SELF-FENCING ON ") +
                     e.node + ": " + e.component);
  }
  if (t == "switchover_failed") {
    // An operator's switchover stopped part-way or left the component unhealthy.
    Incident& i = cur.open ? cur : open(e);
    i.sent = Severity::Info;
    return alert(i, Severity::Critical, "SWITCHOVER FAILED: " + e.component);
  }
  if (t == "failover_interrupted") {
    // A plan stopped part-way: the stack may be half switched, and automation is held.
    Incident& i = cur.open ? cur : open(e);
    i.sent = Severity::Info;
    return alert(i, Severity::Critical, "FAILOVER INTERRUPTED: " + e.component);
  }
  return {};
}

std::vector<Alert> AlertPolicy::tick(WallTime now) {
  std::vector<Alert> out;
  for (auto& [component, i] : incidents_) {
    if (!i.open || !i.resolve_due || *i.resolve_due > now) continue;
    Alert a;
    a.action = Alert::Action::Resolve;
    a.severity = Severity::Info;
    a.incident = i.key;
    a.node = i.node;
    a.component = component;
    a.title = "RECOVERED: " + component;
    a.summary = component + " is healthy again";
    a.at = now;
    out.push_back(std::move(a));
    i.open = false;
    i.resolve_due.reset();
  }
  return out;
}

std::size_t AlertPolicy::openIncidents() const {
  std::size_t n = 0;
  for (const auto& [c, i] : incidents_) n += i.open ? 1 : 0;
  return n;
}

}  // namespace hftguard::alerts

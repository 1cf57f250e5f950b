#include "hftguard/decide/decider.hpp"

#include <map>
#include <stdexcept>

#include <fmt/format.h>

#include "component_state.hpp"

namespace hftguard::decide {
namespace {

struct Maintenance {
  std::string owner;
  std::string reason;
  SteadyTime until{};
  WallTime until_wall{};
};

std::vector<Sample> evidenceOf(const Cause& cause) {
  std::vector<Sample> out;
  for (const CheckTracker* k : cause.involved)
    out.insert(out.end(), k->recent().begin(), k->recent().end());
  return out;
}

void setBreach(Decision& d, const Cause& cause) {
  d.breach_started = cause.started;
  d.breach_from = cause.started_from;
}

WallTime wallAfter(WallTime wall, Duration d) {
  return wall + std::chrono::duration_cast<WallTime::duration>(d);
}

}  // namespace

struct Decider::State {
  explicit State(const config::Config& c) : cfg(c) {
    for (const auto& comp : c.components)
      components.push_back(std::make_unique<ComponentState>(comp));
  }

  ComponentState* find(std::string_view name) {
    for (auto& c : components) {
      if (c->cfg.name == name) return c.get();
    }
    return nullptr;
  }

  const Maintenance* maintenanceOf(const std::string& component) const {
    if (auto it = maintenance.find(""); it != maintenance.end()) return &it->second;
    if (auto it = maintenance.find(component); it != maintenance.end()) return &it->second;
    return nullptr;
  }

  GateState gates(ComponentState& c, SteadyTime now) {
    GateState g;
    g.penalty = c.damper.penalty(now);
    g.damped = c.damper.suppressed(now);
    if (c.cooldown_until && now < *c.cooldown_until) g.cooldown_until = c.cooldown_until_wall;
    if (const Maintenance* m = maintenanceOf(c.cfg.name)) {
      g.maintenance = true;
      g.maintenance_owner = m->owner;
    }
    return g;
  }

  // The gate that stops a failover now ("" when none), with why; `held` says whether the
  // failover waits for the gate to open rather than being dropped.
  // `retry`: a failed failover run again - the same failover, not a second one, so neither
  // the cooldown nor flap damping (both against failovers in a row) holds it.
  std::string gate(ComponentState& c, Tier tier, const GateState& g, std::string& why, bool& held,
                   bool retry = false) {
    held = false;
    if (auto it = interrupted.find(c.cfg.name); it != interrupted.end()) {
      why = it->second;
      return "interrupted";
    }
    if (auto it = switching.find(c.cfg.name); it != switching.end()) {
      why = it->second;
      return "switchover";
    }
    if (tier == Tier::System && cfg.system.plan.empty()) {
      why = "system tier: no site plan configured; alert only";
      return "no_plan";
    }
    if (tier == Tier::Component) {
      if (c.cfg.automation == config::Automation::Semi) {
        why = fmt::format("automation is semi: confirm with 'hftguard failover {}'", c.cfg.name);
        return "automation";
      }
      if (c.cfg.automation == config::Automation::Manual) {
        why = "automation is manual: detected and alerted only";
        return "automation";
      }
      if (c.cfg.plan.empty()) {
        why = "no plan configured";
        return "no_plan";
      }
    }
    held = true;
    if (g.maintenance) {
      const Maintenance* m = maintenanceOf(c.cfg.name);
      why = fmt::format("in maintenance by {}: {}", m->owner, m->reason);
      return "maintenance";
    }
    if (tier == Tier::System || retry) return {};
    if (g.cooldown_until) {
      why = fmt::format("in cooldown ({} after the last failover)", formatDuration(c.cfg.cooldown));
      return "cooldown";
    }
    if (g.damped) {
      why =
          fmt::format("flapping: damping penalty {:.0f} above {:g}, released below {:g}", g.penalty,
                      c.cfg.flap_damping.suppress_above, c.cfg.flap_damping.reuse_below);
      return "flap_damping";
    }
    return {};
  }

  // A component a switchover holds is down on purpose: never part of a site incident.
  bool siteFailed(const ComponentState& c) const {
    return c.health == Health::Failed && switching.count(c.cfg.name) == 0;
  }

  std::size_t failedCount() const {
    std::size_t n = 0;
    for (const auto& c : components) n += siteFailed(*c) ? 1 : 0;
    return n;
  }

  std::size_t failedWithinWindow(SteadyTime now) const {
    std::size_t n = 0;
    for (const auto& c : components) {
      if (siteFailed(*c) && c->failed_since >= now - cfg.system.window) ++n;
    }
    return n;
  }

  // A site incident began with the earliest breach among the components failed within it.
  Cause siteBreach(SteadyTime now, const Cause& own) const {
    Cause site;
    if (own.started) site.since(*own.started, own.started_from);
    for (const auto& c : components) {
      if (!siteFailed(*c) || c->failed_since < now - cfg.system.window) continue;
      const Cause other = c->cause(now);
      if (other.started) site.since(*other.started, other.started_from);
    }
    return site;
  }

  // A failover decision for `c`, triggered or suppressed by the gates.
  Decision failover(ComponentState& c, const Cause& cause, Tier tier, SteadyTime now, WallTime wall,
                    const std::string& prefix, bool retry = false) {
    Decision d;
    d.component = c.cfg.name;
    d.at = wall;
    d.tier = tier;
    d.rule = tier == Tier::System ? "system" : cause.rule;
    d.from = d.to = Health::Failed;
    d.plan = tier == Tier::System ? cfg.system.plan : c.cfg.plan;
    d.evidence = evidenceOf(cause);
    d.thresholds = cause.thresholds;
    setBreach(d, tier == Tier::System ? siteBreach(now, cause) : cause);
    if (tier == Tier::System) {
      d.thresholds.push_back({{},
                              "failed_components",
                              static_cast<double>(failedWithinWindow(now)),
                              static_cast<double>(cfg.system.min_failed_components),
                              ""});
    }
    d.gates = gates(c, now);
    std::string why;
    bool held = false;
    const std::string gateName = gate(c, tier, d.gates, why, held, retry);
    const std::string what =
        tier == Tier::System
            ? fmt::format("{} components failed within {}: {}", failedWithinWindow(now),
                          formatDuration(cfg.system.window), cause.reason)
            : cause.reason;
    if (!gateName.empty()) {
      d.kind = Decision::Kind::FailoverSuppressed;
      d.suppressed_by = gateName;
      d.reason = fmt::format("{}{} - held: {}", prefix, what, why);
      if (!held) d.reason = fmt::format("{}{} - not failing over: {}", prefix, what, why);
      c.held_by = held ? gateName : std::string();
      if (gateName == "switchover") c.dropped_by_switchover = true;
      return d;
    }
    d.kind = Decision::Kind::FailoverTriggered;
    d.reason = prefix + what;
    c.held_by.clear();
    c.dropped_by_switchover = false;
    c.forgetOutcomes();
    c.cooldown_until = now + c.cfg.cooldown;
    c.cooldown_until_wall = wallAfter(wall, c.cfg.cooldown);
    if (tier == Tier::System) system_active = true;
    return d;
  }

  // Re-derives the component's health; reports the change and any failover it calls for.
  void evaluate(ComponentState& c, SteadyTime now, WallTime wall, std::vector<Decision>& out) {
    const Cause cause = c.cause(now);
    const Health before = c.health;
    const Health after = c.healthFrom(cause);
    if (after == before) return;
    c.health = after;
    // The outage is over once the component is healthy again (a flicker to Recovering and
    // back to Failed is the same outage, as for the decision itself).
    if (after == Health::Healthy || after == Health::Suspect) c.failing_over = false;
    Decision d;
    d.kind = Decision::Kind::StateChanged;
    d.component = c.cfg.name;
    d.at = wall;
    d.from = before;
    d.to = after;
    d.rule = cause.rule;
    d.tier = after == Health::Failed ? Tier::Component : Tier::Transient;
    d.thresholds = cause.thresholds;
    d.evidence = evidenceOf(cause);
    if (after == Health::Failed) setBreach(d, cause);
    d.gates = gates(c, now);
    d.reason = fmt::format("{} -> {}{}{}", toString(before), toString(after),
                           before == Health::Unknown ? " (initial state)" : "",
                           cause.empty() ? "" : ": " + cause.reason);
    out.push_back(d);
    if (after == Health::Healthy) c.held_by.clear();
    // The outage is over (as for failing_over above): a new one gets its retries again.
    if (after == Health::Healthy || after == Health::Suspect) {
      c.dropped_by_switchover = false;
      if (c.held_by == "retry") c.held_by.clear();
      c.retries_used = 0;
    }
    // The site incident ends once fewer components than the bar are failed.
    if (system_active &&
        failedCount() < static_cast<std::size_t>(cfg.system.min_failed_components)) {
      system_active = false;
    }
    // Only a failure seen from a known, working state is acted on: a component already down
    // when hftguard starts is reported, never failed over on one sample; a relapse while
    // recovering is the same outage, whose failover ran or is held.
    if (after != Health::Failed || before == Health::Unknown || before == Health::Recovering)
      return;
    c.failed_since = now;
    if (!c.anyCheckDown()) c.damper.flap(now);  // a trigger, not a check: flap counted here
    const bool system =
        failedWithinWindow(now) >= static_cast<std::size_t>(cfg.system.min_failed_components);
    if (system && system_active) {
      Decision s = failover(c, cause, Tier::System, now, wall, "");
      s.kind = Decision::Kind::FailoverSuppressed;
      s.suppressed_by = "system";
      s.reason = cause.reason + " - the site-level failover already covers it";
      out.push_back(s);
      return;
    }
    out.push_back(failover(c, cause, system ? Tier::System : Tier::Component, now, wall, ""));
  }

  // A failure reported from outside the probes, when the component's trigger for `rule`
  // is enabled: it fails the component at once and holds it until every check passes.
  std::vector<Decision> force(const std::string& component, const std::string& rule,
                              std::string reason, SteadyTime now, WallTime wall,
                              std::optional<WallTime> since = std::nullopt) {
    std::vector<Decision> out;
    ComponentState* c = find(component);
    if (c == nullptr) return out;
    const auto& t = c->cfg.triggers;
    const bool enabled = rule == "network_partition" ? t.network_partition
                         : rule == "data_corruption" ? t.data_corruption
                                                     : true;  // quorum: the cluster's verdict
    if (!enabled) return out;
    c->forced = Forced{rule, std::move(reason), since.value_or(wall),
                       std::vector<int>(c->checks.size(), 0)};
    if (c->health == Health::Failed) return out;  // already failed: the same outage
    evaluate(*c, now, wall, out);
    return out;
  }

  const config::Config& cfg;
  std::vector<std::unique_ptr<ComponentState>> components;
  std::map<std::string, Maintenance> maintenance;  // "" = the whole node
  std::map<std::string, std::string> interrupted;  // component -> why automation is held
  // component -> the switchover that holds it. Its own gate: neither hold may end the other.
  std::map<std::string, std::string> switching;
  bool system_active = false;
  std::map<std::string, std::optional<double>> corruption;  // last count per COMPONENT/CHECK
};

Decider::Decider(const config::Config& cfg) : state_(std::make_unique<State>(cfg)) {}
Decider::~Decider() = default;

void Decider::reconfigure(const config::Config& next) {
  auto fresh = std::make_unique<State>(next);
  for (auto& c : fresh->components) {
    if (const ComponentState* was = state_->find(c->cfg.name)) c->carryFrom(*was);
  }
  fresh->maintenance = std::move(state_->maintenance);
  fresh->interrupted = std::move(state_->interrupted);
  fresh->switching = std::move(state_->switching);
  fresh->system_active = state_->system_active;
  fresh->corruption = std::move(state_->corruption);
  state_ = std::move(fresh);
}

std::vector<Decision> Decider::observe(const probes::ProbeResult& r, SteadyTime now) {
  std::vector<Decision> out;
  ComponentState* c = state_->find(r.component);
  if (c == nullptr) return out;
  c->observe(r, now);
  const CheckTracker* k = c->check(r.check);
  // Each failure up to the one that fails the check is recorded; after that only changes.
  if (k != nullptr && !r.ok() && !r.informational && k->failures() <= k->config().fall) {
    Decision d;
    d.kind = Decision::Kind::CheckFailed;
    d.component = r.component;
    d.check = r.check;
    d.at = r.at;
    d.tier = k->known() && !k->up() ? Tier::Component : Tier::Transient;
    d.rule = "fall";
    d.reason = fmt::format("{}/{} {} ({} of {}): {}", r.component, r.check,
                           probes::toString(r.status), k->failures(), k->config().fall, r.reason);
    d.evidence.assign(k->recent().begin(), k->recent().end());
    d.thresholds.push_back({r.check, "consecutive_failures", static_cast<double>(k->failures()),
                            static_cast<double>(k->config().fall), ""});
    out.push_back(std::move(d));
  }
  state_->evaluate(*c, now, r.at, out);
  // A check that counts corruption (PostgreSQL's checksum failures) reports each increase.
  if (auto found = r.value("data_corruption")) {
    auto& last = state_->corruption[r.component + "/" + r.check];
    if (last && *found > *last) {
      auto more = reportDataCorruption(r.component,
                                       fmt::format("{} reports {:g} new corruption findings: {}",
                                                   r.check, *found - *last, r.reason),
                                       now, r.at);
      out.insert(out.end(), more.begin(), more.end());
    }
    last = *found;
  }
  return out;
}

std::vector<Decision> Decider::tick(SteadyTime now, WallTime wall) {
  std::vector<Decision> out;
  for (auto it = state_->maintenance.begin(); it != state_->maintenance.end();) {
    if (it->second.until > now) {
      ++it;
      continue;
    }
    Decision d;
    d.kind = Decision::Kind::MaintenanceEnded;
    d.component = it->first;
    d.at = wall;
    d.owner = it->second.owner;
    d.reason = fmt::format("maintenance by {} expired: {}", it->second.owner, it->second.reason);
    out.push_back(std::move(d));
    it = state_->maintenance.erase(it);
  }
  for (auto& c : state_->components) {
    // Sustained triggers can fire between results; damping decays with time alone.
    state_->evaluate(*c, now, wall, out);
    if (c->held_by.empty() || c->health != Health::Failed) continue;
    if (c->held_by == "retry" && now < c->retry_at) continue;
    if (c->held_by == "retry" && state_->system_active) {  // the site plan covers it
      c->held_by.clear();
      continue;
    }
    const Cause cause = c->cause(now);
    if (cause.empty()) continue;
    const bool retry = c->held_by == "retry";
    const bool released = c->held_by == "switchover";
    const std::string prefix = retry ? fmt::format("failed failover retried ({} of {}): ",
                                                   c->retries_used, c->cfg.failover_retries)
                               : released ? "failover held by a switchover released: "
                                          : "held failover released: ";
    Decision d = state_->failover(*c, cause, Tier::Component, now, wall, prefix, retry);
    if (retry && d.kind == Decision::Kind::FailoverSuppressed && !c->held_by.empty()) {
      c->held_by = "retry";  // held by maintenance: still a retry when it ends
      c->retry_at = now;
    }
    // A switchover's release is decided once, in the open: held or dropped by a gate
    // (automation semi, maintenance...), that is said too.
    if (d.kind == Decision::Kind::FailoverTriggered || released) out.push_back(std::move(d));
  }
  return out;
}

std::vector<Decision> Decider::reportPartition(const std::string& component,
                                               const std::string& reason, SteadyTime now,
                                               WallTime wall) {
  return state_->force(component, "network_partition", "network partition: " + reason, now, wall);
}

std::vector<Decision> Decider::reportQuorum(const std::string& component,
                                            const std::string& reason, SteadyTime now,
                                            WallTime wall, std::optional<WallTime> since) {
  if (since && *since > wall) since = wall;
  return state_->force(component, "quorum", "a quorum of observers: " + reason, now, wall,
                       since);
}

std::vector<Decision> Decider::reportDataCorruption(const std::string& component,
                                                    const std::string& reason, SteadyTime now,
                                                    WallTime wall) {
  return state_->force(component, "data_corruption", "data corruption: " + reason, now, wall);
}

std::vector<Decision> Decider::reportExternalFailover(const std::string& component,
                                                      const std::string& reason, SteadyTime now,
                                                      WallTime wall) {
  ComponentState* c = state_->find(component);
  if (c == nullptr) return {};
  Decision d;
  d.component = component;
  d.at = wall;
  d.tier = Tier::Component;
  d.rule = "external_failover";
  d.from = d.to = c->health;
  d.plan = c->cfg.plan;
  d.gates = state_->gates(*c, now);
  std::string why;
  if (auto it = state_->interrupted.find(component); it != state_->interrupted.end()) {
    d.suppressed_by = "interrupted";
    why = it->second;
  } else if (auto sw = state_->switching.find(component); sw != state_->switching.end()) {
    d.suppressed_by = "switchover";
    why = sw->second;
  } else if (c->cfg.automation != config::Automation::Full) {
    d.suppressed_by = "automation";
    why = fmt::format("automation is {}", config::toString(c->cfg.automation));
  } else if (c->cfg.plan.empty()) {
    d.suppressed_by = "no_plan";
    why = "no plan configured";
  } else if (d.gates.maintenance) {
    d.suppressed_by = "maintenance";
    why = fmt::format("in maintenance by {}", d.gates.maintenance_owner);
  }
  if (!d.suppressed_by.empty()) {
    d.kind = Decision::Kind::FailoverSuppressed;
    d.reason = fmt::format("{} - not followed: {}", reason, why);
    return {d};
  }
  d.kind = Decision::Kind::FailoverTriggered;
  d.reason = reason;
  if (c->held_by == "retry") c->held_by.clear();  // the store switched: that is the failover now
  c->forgetOutcomes();
  c->cooldown_until = now + c->cfg.cooldown;
  c->cooldown_until_wall = wallAfter(wall, c->cfg.cooldown);
  return {d};
}

std::vector<Decision> Decider::startMaintenance(const std::string& component,
                                                const std::string& owner, const std::string& reason,
                                                Duration length, SteadyTime now, WallTime wall) {
  if (!component.empty() && state_->find(component) == nullptr) {
    throw std::invalid_argument("no component " + component);
  }
  state_->maintenance[component] = {owner, reason, now + length, wallAfter(wall, length)};
  Decision d;
  d.kind = Decision::Kind::MaintenanceStarted;
  d.component = component;
  d.at = wall;
  d.owner = owner;
  d.expires = wallAfter(wall, length);
  // `hftguard pause` is a window of the whole node that lasts until `resume` (to 2199).
  const bool pause = component.empty() && length > std::chrono::hours(24 * 365 * 10);
  d.reason = fmt::format("maintenance of {} by {} {}: {}",
                         component.empty() ? "the whole node" : component, owner,
                         pause ? "until resumed (automation paused)" : "for " + formatDuration(length),
                         reason);
  return {d};
}

std::vector<Decision> Decider::endMaintenance(const std::string& component, const std::string& why,
                                              SteadyTime now, WallTime wall) {
  auto it = state_->maintenance.find(component);
  if (it == state_->maintenance.end()) return {};
  Decision d;
  d.kind = Decision::Kind::MaintenanceEnded;
  d.component = component;
  d.at = wall;
  d.owner = it->second.owner;
  d.reason = fmt::format("maintenance by {} ended: {}", it->second.owner, why);
  state_->maintenance.erase(it);
  std::vector<Decision> out{d};
  auto more = tick(now, wall);  // a failover held by the maintenance may go ahead now
  out.insert(out.end(), more.begin(), more.end());
  return out;
}

void Decider::holdInterrupted(const std::string& component, const std::string& why) {
  state_->interrupted[component] = why;
}

void Decider::holdForSwitchover(const std::string& component, const std::string& why) {
  state_->switching[component] = why;
  // The outage a switchover makes (the drain, the old primary stopped) is its own, as a
  // failover's is: the error-rate window starts again once the component is healthy (on its
  // new primary), instead of counting the drain against it for a whole window.
  if (ComponentState* c = state_->find(component)) {
    c->forgetOutcomes();
    c->failing_over = true;
  }
}

void Decider::releaseSwitchover(const std::string& component, bool reconsider) {
  state_->switching.erase(component);
  ComponentState* c = state_->find(component);
  if (c == nullptr) return;
  // Never failed meanwhile (a plan refused or failed before it stopped anything): the
  // error-rate window counts again now, not only after a next outage.
  if (c->health == Health::Healthy || c->health == Health::Suspect) c->failing_over = false;
  // A failover the hold dropped, of an outage still standing (a switchover that failed
  // part-way, its primary drained), is not forgotten: tick() decides it as a held one,
  // through every gate. Not when the roles moved (the failure was the old primary's) or
  // the daemon stops (`reconsider` false), nor when a failover was triggered since.
  if (reconsider && c->dropped_by_switchover && c->health == Health::Failed &&
      c->held_by.empty()) {
    c->held_by = "switchover";
  }
  c->dropped_by_switchover = false;
}

void Decider::releaseInterrupted(const std::string& component) {
  state_->interrupted.erase(component);
}

std::optional<SteadyTime> Decider::failoverFailed(const std::string& component, SteadyTime now) {
  ComponentState* c = state_->find(component);
  // Recovering is still the outage (a flicker back to Failed decides nothing on its own).
  const bool down = c != nullptr && (c->health == Health::Failed || c->health == Health::Recovering);
  if (!down || !c->held_by.empty() || c->retries_used >= c->cfg.failover_retries) {
    return std::nullopt;
  }
  c->retry_at = now + c->cfg.failover_retry_backoff * (1 << std::min(c->retries_used, 6));
  ++c->retries_used;
  c->held_by = "retry";
  return c->retry_at;
}

void Decider::cancelRetry(std::string_view component) {
  ComponentState* c = state_->find(component);
  if (c != nullptr && c->held_by == "retry") c->held_by.clear();
}

int Decider::retriesUsed(std::string_view component) const {
  const ComponentState* c = state_->find(component);
  return c == nullptr ? 0 : c->retries_used;
}

bool Decider::inMaintenance(std::string_view component) const {
  return state_->maintenanceOf(std::string(component)) != nullptr;
}

Health Decider::health(std::string_view component) const {
  const ComponentState* c = state_->find(component);
  return c == nullptr ? Health::Unknown : c->health;
}

std::vector<const config::CheckConfig*> Decider::downChecks(std::string_view component) const {
  std::vector<const config::CheckConfig*> out;
  const ComponentState* c = state_->find(component);
  if (c == nullptr) return out;
  for (const auto& k : c->checks) {
    if (k->known() && !k->up() && !k->config().informational) out.push_back(&k->config());
  }
  return out;
}

Transition Decider::lastTransition(std::string_view component, std::string_view check) const {
  ComponentState* c = state_->find(component);
  const CheckTracker* k = c == nullptr ? nullptr : c->check(check);
  return k == nullptr ? Transition::Unchanged : k->lastTransition();
}

}  // namespace hftguard::decide

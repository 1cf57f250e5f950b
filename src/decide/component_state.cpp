#include "component_state.hpp"

#include <fmt/format.h>

namespace hftguard::decide {

void Cause::add(std::string r, std::string why, Threshold t, const CheckTracker* check,
                bool trigger) {
  if (rule.empty()) {
    rule = std::move(r);
    reason = std::move(why);
  }
  thresholds.push_back(std::move(t));
  if (check != nullptr && std::find(involved.begin(), involved.end(), check) == involved.end()) {
    involved.push_back(check);
  }
  sustained = sustained || trigger;
}

void Cause::since(WallTime at, std::string what) {
  if (started && *started <= at) return;
  started = at;
  started_from = std::move(what);
}

ComponentState::ComponentState(const config::ComponentConfig& c) : cfg(c), damper(c.flap_damping) {
  for (const auto& k : c.checks) checks.push_back(std::make_unique<CheckTracker>(k, c.triggers));
}

void ComponentState::carryFrom(const ComponentState& was) {
  for (auto& k : checks) {
    const CheckTracker* old = was.check(k->config().name);
    if (old == nullptr) {
      k->joinLate();
    } else if (old->config() == k->config()) {
      k->carryFrom(*old);
    } else {
      k->carryVerdictFrom(*old);
    }
  }
  health = was.health;
  if (was.forced) {  // the passes since the report, by check; a new check has none yet
    forced = Forced{was.forced->rule, was.forced->reason, was.forced->at,
                    std::vector<int>(checks.size(), 0)};
    for (std::size_t i = 0; i < checks.size(); ++i) {
      for (std::size_t j = 0; j < was.checks.size() && j < was.forced->passes.size(); ++j) {
        if (was.checks[j]->config() == checks[i]->config()) forced->passes[i] = was.forced->passes[j];
      }
    }
  }
  failed_since = was.failed_since;
  damper.carryFrom(was.damper);
  cooldown_until = was.cooldown_until;
  cooldown_until_wall = was.cooldown_until_wall;
  held_by = was.held_by;
  retry_at = was.retry_at;
  retries_used = was.retries_used;
  failing_over = was.failing_over;
  dropped_by_switchover = was.dropped_by_switchover;
  outcomes_ = was.outcomes_;
  first_outcome_ = was.first_outcome_;
}

CheckTracker* ComponentState::check(std::string_view name) {
  for (auto& c : checks) {
    if (c->config().name == name) return c.get();
  }
  return nullptr;
}

const CheckTracker* ComponentState::check(std::string_view name) const {
  return const_cast<ComponentState*>(this)->check(name);
}

Transition ComponentState::observe(const probes::ProbeResult& r, SteadyTime now) {
  CheckTracker* tracker = check(r.check);
  if (tracker == nullptr) return Transition::Unchanged;
  const bool wasDown = anyCheckDown();
  const bool wasKnown = tracker->known();
  const Transition t = tracker->observe(r, now);
  // A flap is the checks going from all up to one down, whatever holds the component's
  // health: a target flipping every few seconds keeps adding penalty even while the
  // error-rate trigger keeps the component failed.
  if (!wasDown && wasKnown && anyCheckDown() && t == Transition::Changed) damper.flap(now);
  const auto& er = cfg.triggers.error_rate;
  if (!r.informational && (er.check.empty() || er.check == r.check) && !failing_over) {
    outcomes_.push_back({now, r.at, !r.ok()});
    if (!first_outcome_) first_outcome_ = now;
    while (!outcomes_.empty() && outcomes_.front().at <= now - er.window) outcomes_.pop_front();
  }
  if (forced) {
    for (std::size_t i = 0; i < checks.size(); ++i) {
      if (checks[i].get() == tracker) forced->passes[i] = r.ok() ? forced->passes[i] + 1 : 0;
    }
    bool cleared = true;
    for (std::size_t i = 0; i < checks.size(); ++i) {
      if (!checks[i]->config().informational && forced->passes[i] < checks[i]->config().rise) {
        cleared = false;
      }
    }
    if (cleared) forced.reset();
  }
  return t;
}

bool ComponentState::anyCheckDown() const {
  for (const auto& k : checks) {
    if (k->known() && !k->up() && !k->config().informational) return true;
  }
  return false;
}

std::optional<std::pair<Threshold, WallTime>> ComponentState::errorRate(SteadyTime now) const {
  const auto& er = cfg.triggers.error_rate;
  // "Over one minute" needs a minute of data: one early failure is not a 10% error rate.
  if (!er.enabled || !first_outcome_ || now - *first_outcome_ < er.window) return std::nullopt;
  std::size_t total = 0, failed = 0;
  std::optional<WallTime> firstFailed;
  for (const auto& o : outcomes_) {
    if (o.at <= now - er.window) continue;
    ++total;
    failed += o.failed ? 1 : 0;
    if (o.failed && !firstFailed) firstFailed = o.wall;
  }
  if (total < static_cast<std::size_t>(er.min_samples) || !firstFailed) return std::nullopt;
  const double rate = static_cast<double>(failed) / static_cast<double>(total);
  if (rate <= er.above) return std::nullopt;
  return std::pair{Threshold{er.check, "error_rate", rate, er.above, "ratio"}, *firstFailed};
}

Cause ComponentState::cause(SteadyTime now) const {
  Cause c;
  if (forced) {
    c.add(forced->rule, forced->reason, {{}, forced->rule, 1, 1, ""}, nullptr, true);
    c.since(forced->at, forced->rule == "quorum" ? "the first failed sample an observer saw"
                                                 : "the " + forced->rule + " report");
  }
  const auto& t = cfg.triggers;
  for (const auto& k : checks) {
    const auto& kc = k->config();
    if (!kc.informational && k->known() && !k->up()) {
      // The count is the run actually seen: never more failures than samples.
      c.add("fall",
            fmt::format("{} failed {} times in a row: {}", kc.name, k->downRun(), k->lastFailure()),
            {kc.name, "consecutive_failures", static_cast<double>(k->downRun()),
             static_cast<double>(kc.fall), ""},
            k.get(), false);
      c.since(k->failingSince(), "first failed sample");
    }
    const double toMs = 1e3;
    if (k->latencyActive(now)) {
      c.add("latency",
            fmt::format("{} slower than {} for {}", kc.name, formatDuration(t.latency.above),
                        formatDuration(t.latency.sustained_for)),
            {kc.name, "latency_ms", k->lastLatencyMs(),
             std::chrono::duration<double>(t.latency.above).count() * toMs, "ms"},
            k.get(), true);
      c.since(k->latencySince(), "first sample over the latency limit");
    }
    auto utilisation = [&](bool active, const config::UtilisationTrigger& u, std::string name,
                           WallTime since) {
      if (!active) return;
      const auto v = k->lastValue("process_" + name + "_ratio")
                         .value_or(k->lastValue(name + "_ratio").value_or(0));
      c.add(name,
            fmt::format("{} {} above {} for {}", kc.name, name, formatPercent(u.above),
                        formatDuration(u.sustained_for)),
            {kc.name, name + "_ratio", v, u.above, "ratio"}, k.get(), true);
      c.since(since, "first sample over the " + name + " limit");
    };
    utilisation(k->cpuActive(now), t.cpu, "cpu", k->cpuSince());
    utilisation(k->memoryActive(now), t.memory, "memory", k->memorySince());
  }
  if (auto rate = errorRate(now)) {
    const Threshold* er = &rate->first;
    c.since(rate->second, "first failed sample in the error-rate window");
    const std::string scope = er->check.empty() ? "its checks" : er->check;
    c.add("error_rate",
          fmt::format("error rate of {} {:.1f}% over {}, above {}", scope, er->observed * 100,
                      formatDuration(cfg.triggers.error_rate.window), formatPercent(er->limit)),
          *er, nullptr, true);
    for (const auto& k : checks) {
      if (!k->config().informational && (er->check.empty() || er->check == k->config().name)) {
        c.involved.push_back(k.get());
      }
    }
  }
  return c;
}

Health ComponentState::healthFrom(const Cause& cause) const {
  // Healthy only on evidence: every check that counts has reached up through `rise`.
  bool allKnown = true, anyCounted = false, suspect = false;
  for (const auto& k : checks) {
    if (k->config().informational || k->lateAndUnknown()) continue;
    anyCounted = true;
    allKnown = allKnown && k->known();
    suspect = suspect || (k->known() && k->up() && k->failures() > 0);
  }
  if ((!allKnown || !anyCounted) && cause.empty()) return Health::Unknown;
  if (!cause.empty()) {
    // Recovering: only fall counters hold it, and every failed check has begun to pass.
    bool recovering = !cause.sustained;
    for (const CheckTracker* k : cause.involved) recovering = recovering && k->successes() > 0;
    const bool wasDown = health == Health::Failed || health == Health::Recovering;
    return recovering && wasDown ? Health::Recovering : Health::Failed;
  }
  return suspect ? Health::Suspect : Health::Healthy;
}

}  // namespace hftguard::decide

#include "check_tracker.hpp"

namespace hftguard::decide {
namespace {

// The process's own figure when the host check names one, else the host's.
std::optional<double> utilisation(const probes::ProbeResult& r, std::string_view host,
                                  std::string_view process) {
  if (auto v = r.value(process)) return v;
  return r.value(host);
}

}  // namespace

Transition CheckTracker::observe(const probes::ProbeResult& r, SteadyTime now) {
  recent_.push_back({r.check, r.status, r.latency, r.reason, r.observed, r.at});
  if (recent_.size() > kRecent) recent_.pop_front();
  last_latency_ms_ = std::chrono::duration<double, std::milli>(r.latency).count();

  if (watches(triggers_.latency.check)) latency_.update(r.latency > triggers_.latency.above, now);
  if (auto cpu = utilisation(r, "cpu_ratio", "process_cpu_ratio");
      cpu && watches(triggers_.cpu.check)) {
    cpu_.update(*cpu > triggers_.cpu.above, now);
  }
  if (auto mem = utilisation(r, "memory_ratio", "process_memory_ratio");
      mem && watches(triggers_.memory.check)) {
    memory_.update(*mem > triggers_.memory.above, now);
  }

  const bool ok = r.ok();
  failures_ = ok ? 0 : failures_ + 1;
  successes_ = ok ? successes_ + 1 : 0;
  if (!known_) {
    // The first result sets the state at once: no rise/fall wait at start-up.
    known_ = true;
    up_ = ok;
    return last_ = Transition::Changed;
  }
  if (up_ && failures_ >= check_.fall) {
    up_ = false;
    return last_ = Transition::Changed;
  }
  if (!up_ && successes_ >= check_.rise) {
    up_ = true;
    return last_ = Transition::Changed;
  }
  const bool moving = (up_ && failures_ > 0) || (!up_ && successes_ > 0);
  return last_ = moving ? Transition::Pending : Transition::Unchanged;
}

bool CheckTracker::latencyActive(SteadyTime now) const {
  return triggers_.latency.enabled && latency_.active(now, triggers_.latency.sustained_for);
}
bool CheckTracker::cpuActive(SteadyTime now) const {
  return triggers_.cpu.enabled && cpu_.active(now, triggers_.cpu.sustained_for);
}
bool CheckTracker::memoryActive(SteadyTime now) const {
  return triggers_.memory.enabled && memory_.active(now, triggers_.memory.sustained_for);
}

std::optional<double> CheckTracker::lastValue(std::string_view name) const {
  if (recent_.empty()) return std::nullopt;
  for (const auto& o : recent_.back().observed) {
    if (o.name == name) return o.value;
  }
  return std::nullopt;
}

}  // namespace hftguard::decide

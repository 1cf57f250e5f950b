#include "check_tracker.hpp"

#include <algorithm>

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

  if (watches(triggers_.latency.check)) {
    latency_.update(r.latency > triggers_.latency.above, now, r.at);
  }
  if (auto cpu = utilisation(r, "cpu_ratio", "process_cpu_ratio");
      cpu && watches(triggers_.cpu.check)) {
    cpu_.update(*cpu > triggers_.cpu.above, now, r.at);
  }
  if (auto mem = utilisation(r, "memory_ratio", "process_memory_ratio");
      mem && watches(triggers_.memory.check)) {
    memory_.update(*mem > triggers_.memory.above, now, r.at);
  }
  return last_ = count(r);
}

// fall/rise from start-up on: one sample never sets the state, whatever the check's
// interval (a slow check's first failure beside a fast check's successes is not an outage).
Transition CheckTracker::count(const probes::ProbeResult& r) {
  const bool ok = r.ok();
  failures_ = ok ? 0 : failures_ + 1;
  successes_ = ok ? successes_ + 1 : 0;
  const bool down = known_ && !up_;
  if (!ok) {
    last_failure_ = r.reason;
    // A down check's outage began with the run that took it down, not with a later one.
    if (failures_ == 1 && !down) failing_since_ = r.at;
    if (down) down_run_ = std::max(down_run_, failures_);
  }
  if (!down && failures_ >= check_.fall) {
    known_ = true;
    up_ = false;
    down_run_ = failures_;
    return Transition::Changed;
  }
  if ((!known_ || !up_) && successes_ >= check_.rise) {
    known_ = true;
    up_ = true;
    return Transition::Changed;
  }
  const bool moving = !known_ || (up_ && failures_ > 0) || (!up_ && successes_ > 0);
  return moving ? Transition::Pending : Transition::Unchanged;
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

void CheckTracker::carryFrom(const CheckTracker& was) {
  known_ = was.known_;
  up_ = was.up_;
  failures_ = was.failures_;
  successes_ = was.successes_;
  down_run_ = was.down_run_;
  failing_since_ = was.failing_since_;
  last_failure_ = was.last_failure_;
  last_ = was.last_;
  recent_ = was.recent_;
  latency_ = was.latency_;
  cpu_ = was.cpu_;
  memory_ = was.memory_;
  last_latency_ms_ = was.last_latency_ms_;
  late_ = was.late_;
}

void CheckTracker::carryVerdictFrom(const CheckTracker& was) {
  known_ = was.known_;
  up_ = was.up_;
  late_ = was.late_;
  if (known_ && !up_) {  // still down: what took it down still explains the outage
    down_run_ = was.down_run_;
    failing_since_ = was.failing_since_;
    last_failure_ = was.last_failure_;
  }
  recent_ = was.recent_;
}

}  // namespace hftguard::decide

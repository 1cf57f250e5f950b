#pragma once
// Private to the decider: one check's fall/rise counters, its recent samples and the
// streaks its sustained triggers watch (latency, CPU, memory).

#include <deque>
#include <optional>
#include <string>

#include "hftguard/config/config.hpp"
#include "hftguard/decide/decision.hpp"

namespace hftguard::decide {

// How long a sustained condition has held: the start of the current run of samples over
// the limit. Active once that run spans the configured duration. `wall` is when the first
// sample over the limit was taken: where an RTO measured from this breach starts.
class Streak {
 public:
  void update(bool over, SteadyTime now, WallTime wall) {
    if (!over) {
      start_.reset();
    } else if (!start_) {
      start_ = now;
      wall_ = wall;
    }
  }
  bool active(SteadyTime now, Duration span) const { return start_ && now - *start_ >= span; }
  std::optional<SteadyTime> start() const { return start_; }
  WallTime startWall() const { return wall_; }

 private:
  std::optional<SteadyTime> start_;
  WallTime wall_{};
};

class CheckTracker {
 public:
  static constexpr std::size_t kRecent = 10;

  CheckTracker(const config::CheckConfig& check, const config::Triggers& triggers)
      : check_(check), triggers_(triggers) {}

  Transition observe(const probes::ProbeResult& r, SteadyTime now);
  // A reload: this tracker (of the new config) goes on from `was` (the same check in the
  // config before): its counters, recent samples and streaks.
  void carryFrom(const CheckTracker& was);
  // A reload changed this check: its verdict (up, down, not yet known) stands, its counters
  // and streaks start over under the new thresholds. Never "unknown" again because of the
  // reload: a component unknown cannot fail over.
  void carryVerdictFrom(const CheckTracker& was);
  // A reload added this check to a component already watched: until it is known it does not
  // make the component unknown (which would hold any failover back).
  void joinLate() { late_ = true; }
  bool lateAndUnknown() const { return late_ && !known_; }

  const config::CheckConfig& config() const { return check_; }
  // Unknown until `rise` successes in a row make it up or `fall` failures make it down.
  bool known() const { return known_; }
  bool up() const { return up_; }
  int failures() const { return failures_; }    // consecutive
  int successes() const { return successes_; }  // consecutive
  // While down: the longest run of failures seen since it went down (at least `fall`), when
  // the first of the run that took it down was taken, and the last failure's reason.
  int downRun() const { return down_run_; }
  WallTime failingSince() const { return failing_since_; }
  const std::string& lastFailure() const { return last_failure_; }
  const std::deque<Sample>& recent() const { return recent_; }
  Transition lastTransition() const { return last_; }

  bool latencyActive(SteadyTime now) const;
  WallTime latencySince() const { return latency_.startWall(); }
  WallTime cpuSince() const { return cpu_.startWall(); }
  WallTime memorySince() const { return memory_.startWall(); }
  bool cpuActive(SteadyTime now) const;
  bool memoryActive(SteadyTime now) const;
  double lastLatencyMs() const { return last_latency_ms_; }
  std::optional<double> lastValue(std::string_view name) const;

 private:
  Transition count(const probes::ProbeResult& r);
  bool watches(const std::string& trigger_check) const {
    return trigger_check.empty() || trigger_check == check_.name;
  }

  const config::CheckConfig& check_;
  const config::Triggers& triggers_;
  bool known_ = false;
  bool up_ = false;
  int failures_ = 0;
  int successes_ = 0;
  int down_run_ = 0;
  WallTime failing_since_{};
  std::string last_failure_;
  Transition last_ = Transition::Unchanged;
  std::deque<Sample> recent_;
  Streak latency_, cpu_, memory_;
  double last_latency_ms_ = 0;
  bool late_ = false;
};

}  // namespace hftguard::decide

#pragma once
// Private to the decider: one component's checks, error-rate window, forced failure,
// health, and the gates (cooldown, damping, held failover) in front of its plan.

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "check_tracker.hpp"
#include "damping.hpp"

namespace hftguard::decide {

// Why a component is failed: the rule that fired first, every threshold crossed, and the
// checks whose samples are the evidence.
struct Cause {
  std::string rule;
  std::string reason;
  std::vector<Threshold> thresholds;
  std::vector<const CheckTracker*> involved;
  bool sustained = false;  // a trigger or report holds it, not only fall counters
  // The earliest first sample (or report) that breached any of the rules: the RTO's start.
  std::optional<WallTime> started;
  std::string started_from;  // what that is, for the report: "first failed sample", ...

  bool empty() const { return rule.empty(); }
  void add(std::string r, std::string why, Threshold t, const CheckTracker* check, bool trigger);
  void since(WallTime at, std::string what);
};

// A failure reported from outside the probes (partition, corruption). It holds the
// component failed until every check has passed `rise` times since the report.
struct Forced {
  std::string rule;
  std::string reason;
  WallTime at{};
  std::vector<int> passes;  // per check, consecutive successes since the report
};

class ComponentState {
 public:
  explicit ComponentState(const config::ComponentConfig& c);
  // A reload: this state (of the new config) goes on from `was`, the same component's before
  // it. Its health, cooldown, damping, held failover, retries and error-rate window stay; each
  // check unchanged in everything but where it is written keeps its counters; a changed one
  // keeps its verdict (up, down) and counts again under its new thresholds; a new one counts
  // once it is known. Nothing is decided here: the next result re-derives the health.
  void carryFrom(const ComponentState& was);

  // Feeds one result to its check and the error-rate window.
  Transition observe(const probes::ProbeResult& r, SteadyTime now);
  Cause cause(SteadyTime now) const;
  Health healthFrom(const Cause& cause) const;
  bool anyCheckDown() const;
  CheckTracker* check(std::string_view name);
  const CheckTracker* check(std::string_view name) const;

  const config::ComponentConfig& cfg;
  std::vector<std::unique_ptr<CheckTracker>> checks;
  Health health = Health::Unknown;
  std::optional<Forced> forced;
  SteadyTime failed_since{};
  FlapDamper damper;
  std::optional<SteadyTime> cooldown_until;
  std::optional<WallTime> cooldown_until_wall;
  std::string held_by;  // non-empty: a failover waits for this gate to open
  // A failed failover's retry ("retry" in held_by): when, and how many this outage used.
  SteadyTime retry_at{};
  int retries_used = 0;

  // A failover was triggered: the samples so far - and those until the component is healthy
  // again (`failing_over`; a flicker to Recovering and back is the same outage) - are the
  // outage's, not whoever serves next. The error-rate window starts again (and needs a
  // whole window of data again), so the outage's own failures never fail over the new
  // primary a minute later.
  void forgetOutcomes() {
    outcomes_.clear();
    first_outcome_.reset();
    failing_over = health == Health::Failed;  // (a followed switch may find it healthy)
  }
  bool failing_over = false;  // set by forgetOutcomes(), cleared once Healthy (or Suspect)
  // A switchover's hold dropped a failover of this outage (and none was triggered since):
  // what its release decides again, when it was not the roles that moved.
  bool dropped_by_switchover = false;

 private:
  struct Outcome {
    SteadyTime at;
    WallTime wall;
    bool failed;
  };
  // The rate, and when the window's first failed sample was taken.
  std::optional<std::pair<Threshold, WallTime>> errorRate(SteadyTime now) const;
  std::deque<Outcome> outcomes_;             // the error-rate window
  std::optional<SteadyTime> first_outcome_;  // a rate needs a whole window of data
};

}  // namespace hftguard::decide

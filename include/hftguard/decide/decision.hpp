#pragma once
// What the decider says: plain values, handed forward to the event log, the failover runner
// and the alerts. Each carries the tier and rule that fired and the evidence behind it.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hftguard/core/clock.hpp"
#include "hftguard/probes/result.hpp"

namespace hftguard::decide {

// The runbook's decision tree: fewer than `fall` failures is transient (retry, no action);
// a failed component runs its plan; several components failing together is the site's.
enum class Tier { Transient, Component, System };
enum class Health { Unknown, Healthy, Suspect, Failed, Recovering };
// Of one result for its check: the up/down state flipped, a counter moved toward a flip,
// or nothing changed.
enum class Transition { Unchanged, Pending, Changed };

std::string_view toString(Tier t);
std::string_view toString(Health h);
std::string_view toString(Transition t);

// One probe result as evidence.
struct Sample {
  std::string check;
  probes::ProbeStatus status = probes::ProbeStatus::Ok;
  Duration latency{};
  std::string reason;
  std::vector<probes::Observation> observed;
  WallTime at{};
};

// A threshold the decision crossed: "consecutive_failures 3 >= 3", "error_rate 0.06 > 0.05".
struct Threshold {
  std::string check;  // empty: the component as a whole
  std::string name;
  double observed = 0;
  double limit = 0;
  std::string unit;  // "", "ms", "ratio", "s"
};

// Cooldown and damping as they stood when the decision was made, for `hftguard explain`.
struct GateState {
  double penalty = 0;
  bool damped = false;
  std::optional<WallTime> cooldown_until;
  bool maintenance = false;
  std::string maintenance_owner;
};

struct Decision {
  enum class Kind {
    CheckFailed,
    StateChanged,
    FailoverTriggered,
    FailoverSuppressed,
    MaintenanceStarted,
    MaintenanceEnded,
  };
  Kind kind = Kind::StateChanged;
  std::string component;  // empty: global (maintenance of the whole node)
  std::string check;      // check_failed only
  WallTime at{};
  std::string reason;
  Tier tier = Tier::Transient;
  std::string rule;  // fall, latency, error_rate, cpu, memory, network_partition, data_corruption
  Health from = Health::Unknown;
  Health to = Health::Unknown;
  std::string plan;           // failover decisions
  std::string suppressed_by;  // automation, maintenance, cooldown, flap_damping, no_plan
  std::vector<Sample> evidence;
  std::vector<Threshold> thresholds;
  // When the breach began: the first sample (or report) that breached the rule - the first
  // failed sample of the streak, the first sample over a sustained limit, the first failed
  // sample in the error-rate window. An RTO starts here. Set on failed components' decisions.
  std::optional<WallTime> breach_started;
  std::string breach_from;  // what breach_started is: "first failed sample", ...
  GateState gates;
  std::string owner;                // maintenance
  std::optional<WallTime> expires;  // maintenance
};

std::string_view toString(Decision::Kind k);  // the event type: "failover_triggered", ...

}  // namespace hftguard::decide

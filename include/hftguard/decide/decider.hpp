#pragma once
// The decider: a pure function of probe results and time. It keeps per-check fall/rise
// counters and sustained-condition windows, derives each component's health, picks the
// severity tier, and applies automation, maintenance, cooldown and flap damping before it
// asks for a failover. No I/O; every input carries its time, so tests run it on a
// simulated clock.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hftguard/config/config.hpp"
#include "hftguard/decide/decision.hpp"
#include "hftguard/probes/result.hpp"

namespace hftguard::decide {

class Decider {
 public:
  explicit Decider(const config::Config& cfg);
  ~Decider();
  Decider(const Decider&) = delete;
  Decider& operator=(const Decider&) = delete;

  // A reload (config/reload.hpp): from now on the decider works to `next`, which must outlive
  // it, as must the config before it until this returns. Every component of both goes on
  // where it was (health, cooldown, damping, a held failover or retry, maintenance, an
  // interrupted plan); each check the same but for where it is written keeps its counters;
  // a changed one keeps its verdict and counts again under its new thresholds; a new one
  // counts once it is known (until then it never makes its component unknown, which would
  // hold a failover back). Decides nothing: the next result or tick does.
  void reconfigure(const config::Config& next);

  // A probe result that arrived at `now`.
  std::vector<Decision> observe(const probes::ProbeResult& r, SteadyTime now);
  // Time passing: maintenance expires, held failovers go ahead once nothing holds them.
  std::vector<Decision> tick(SteadyTime now, WallTime wall);

  // Reports from outside the probes: the coordinator's partition detection, a check's
  // corruption finding. Each fails the component at once (if its trigger is enabled).
  std::vector<Decision> reportPartition(const std::string& component, const std::string& reason,
                                        SteadyTime now, WallTime wall);
  // With etcd, on the leader: a quorum of live observers sees the component's primary down
  // while this daemon's own checks do not (docs/safety.md). Fails it at once (rule
  // `quorum`), through the same gates as any failure; held until every check passes.
  // `since`: the earliest failed sample an observer of the quorum saw - the RTO's start.
  std::vector<Decision> reportQuorum(const std::string& component, const std::string& reason,
                                     SteadyTime now, WallTime wall,
                                     std::optional<WallTime> since = std::nullopt);
  std::vector<Decision> reportDataCorruption(const std::string& component,
                                             const std::string& reason, SteadyTime now,
                                             WallTime wall);

  // The data store's own HA already failed over (Sentinel announced a new master): follow it
  // with the component's plan at once. Cooldown and flap damping do not hold it back - the
  // switch happened, and not following leaves discovery on a replica and the old master
  // writable - but automation and maintenance do. Starts the cooldown like any failover.
  std::vector<Decision> reportExternalFailover(const std::string& component,
                                               const std::string& reason, SteadyTime now,
                                               WallTime wall);
  // Maintenance of one component, or of the whole node when `component` is empty: probing
  // and recording go on, automatic failover does not. Ends on its own after `length`.
  std::vector<Decision> startMaintenance(const std::string& component, const std::string& owner,
                                         const std::string& reason, Duration length, SteadyTime now,
                                         WallTime wall);
  std::vector<Decision> endMaintenance(const std::string& component, const std::string& why,
                                       SteadyTime now, WallTime wall);

  // A plan for the component was interrupted part-way (found at start-up): until an operator
  // resumes or abandons it, its failures are recorded and suppressed ("interrupted"), never
  // failed over - a second run from the top would redo what the first already did.
  void holdInterrupted(const std::string& component, const std::string& why);
  void releaseInterrupted(const std::string& component);
  // A switchover runs: gate "switchover" - the component's failures are recorded and
  // suppressed, never failed over, and not kept to run later either; it never counts
  // towards a site (system-tier) incident. Apart from an interrupted plan's hold: neither
  // ends the other. Released (`reconsider`: the roles did not move and the daemon goes on)
  // with the component still failed and a failover dropped by the hold, the next tick()
  // decides that failure as a held one, once, recorded whatever the gates say.
  void holdForSwitchover(const std::string& component, const std::string& why);
  void releaseSwitchover(const std::string& component, bool reconsider = true);

  // The failover this daemon ran for the component failed (and left nothing half-committed):
  // while the component stays failed, tick() triggers it again after the component's
  // failover_retry_backoff (doubling), up to failover_retries times in one outage (Failed or
  // Recovering when it ended); healthy (or suspect) again, the count starts over. The same failover, not a second one: the cooldown and
  // flap damping do not hold it, maintenance, automation and an interrupted plan do. Returns
  // when the retry is due, or nothing when none is left (or the component is not failed).
  std::optional<SteadyTime> failoverFailed(const std::string& component, SteadyTime now);
  int retriesUsed(std::string_view component) const;  // in this outage
  // The roles moved (another failover, an operator's): a retry due is about the old ones -
  // dropped, never run against the new primary.
  void cancelRetry(std::string_view component);

  Health health(std::string_view component) const;
  // Its checks that are down now (not informational ones): what an observation names.
  std::vector<const config::CheckConfig*> downChecks(std::string_view component) const;
  // In maintenance now (its own window or the whole node's): no automatic failover.
  bool inMaintenance(std::string_view component) const;
  Transition lastTransition(std::string_view component, std::string_view check) const;

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace hftguard::decide

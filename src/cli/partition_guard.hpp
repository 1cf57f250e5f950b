#pragma once
// Private to the CLI: what the daemon does about network partitions with etcd
// (docs/safety.md).
//  - Observations: this daemon's view of each component's primary, for its report in etcd.
//  - The leader's gate: a failover its decider triggered starts only once a quorum of live
//    observers see the primary down, and - when the primary's host self-fences - once that
//    host has fenced itself if it is cut off (its daemon's lease gone), unless its daemon is
//    live and sees the primary down too. Until then the decision waits here; it is dropped
//    when the component recovers or its roles move, and left to the next leader when this
//    daemon stops leading. A lone observer's "down" is recorded (observer_disagrees).
//  - Self-fencing: cut off from etcd, this daemon runs the self_fence plan of each component
//    whose primary it hosts, ending before its lease can expire, and reports the partition
//    to its decider (the network_partition trigger).

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "hftguard/actions/runner.hpp"
#include "hftguard/config/config.hpp"
#include "hftguard/coord/cluster_state.hpp"
#include "hftguard/coord/etcd_coordinator.hpp"
#include "hftguard/coord/quorum.hpp"
#include "hftguard/decide/decider.hpp"

namespace hftguard::cli {

// What the gate found when it let a failover go.
struct Admission {
  std::string self_fenced;  // PlanContext::self_fenced: evidence the old primary's host fenced itself
};

class PartitionGuard {
 public:
  using Record = std::function<void(const std::string& type, const std::string& component,
                                    const std::string& reason, nlohmann::json fields)>;
  struct Hooks {
    Record record;
    // Run the failover now (it passed the gate).
    std::function<void(const decide::Decision&, const std::string& trigger, const Admission&)> run;
    // This daemon no longer leads: the waiting decision is left to the next leader.
    std::function<void(const decide::Decision&, const std::string& trigger)> stand_by;
    // Decisions from the decider (the network_partition trigger) to record and act on.
    std::function<void(const std::vector<decide::Decision>&)> decided;
  };

  PartitionGuard(const config::Config& cfg, const Clock& clock, coord::EtcdCoordinator& etcd,
                 decide::Decider& decider, const std::map<std::string, coord::Roles>& roles,
                 actions::ActionEnv& env, Hooks hooks);
  ~PartitionGuard();

  // This daemon's observations, by component: its report's "observations".
  nlohmann::json observations() const;
  std::optional<coord::Observation> observation(const config::ComponentConfig& c) const;

  // The leader asks before a failover: an admission to run it now, or nothing (it waits
  // here, recorded as failover_waiting, and hooks.run is called when it may go).
  std::optional<Admission> admit(const decide::Decision& d, const std::string& trigger);
  // The observers changed, time passed, roles moved or leadership changed: waiting decisions
  // go, wait on or end; a lasting disagreement is recorded.
  void reevaluate();
  // Waiting decisions of the component end (its roles moved: that failover happened).
  void forget(const std::string& component);
  bool waiting(const std::string& component) const { return pending_.count(component) > 0; }
  // What keeps a reload from applying now ("" nothing): a failover waiting for its quorum or
  // a self-fence, or a self-fence running.
  std::string busyWith() const;
  void rebind(const config::Config& cfg) { cfg_ = &cfg; }

  // Every decision of this daemon's decider, and every change of a component's roles: an
  // observation says "down" only about an outage of the primary it names - not one that
  // began before the roles moved (the checks are re-targeted, the health not yet re-read),
  // nor one only the quorum reported (its own view is not a vote for itself).
  void noteDecision(const decide::Decision& d);
  void rolesMoved(const std::string& component);

  // The coordinator's cut_off hook.
  void cutOff(bool lost, const std::string& why, SteadyTime expiry);
  // Stopping, and etcd could not be told (EtcdCoordinator::stop's error): the self-fence of
  // every primary this host runs (one already running counts), to end by `expiry`; then
  // `done`, once no self-fence runs.
  void fenceBeforeExit(const std::string& why, SteadyTime expiry, std::function<void()> done);
  // `done` once no self-fence runs (at once when none does): a stopping daemon never leaves
  // one half done.
  void whenIdle(std::function<void()> done);

 private:
  struct Pending {
    decide::Decision d;
    std::string trigger;
    std::uint64_t epoch = 0;
    SteadyTime since{};        // waiting since
    std::string stage;         // quorum | self_fence
    SteadyTime stage_since{};  // ... in this stage since
  };
  struct Dissent {
    std::vector<std::string> down_by;
    SteadyTime since{};
    bool said = false;
  };

  const config::MemberConfig* primaryMember(const config::ComponentConfig& c) const;
  std::vector<coord::Observation> observers(const config::ComponentConfig& c) const;
  // Go (admission), or why it waits (stage, reason, fields).
  std::optional<Admission> gate(Pending& p, std::string& stage, std::string& reason,
                                nlohmann::json& fields) const;
  void admitted(const Pending& p, const Admission& a, const std::string& reason,
                nlohmann::json fields);
  std::pair<std::string, std::uint64_t> primaryOf(const config::ComponentConfig& c) const;
  coord::QuorumVerdict quorumOf(const config::ComponentConfig& c,
                                const std::vector<coord::Observation>& seen) const;
  coord::QuorumVerdict quorumOf(const std::string& component) const;
  void watchObservers();
  void selfFence(const config::ComponentConfig& c, const std::string& why, SteadyTime expiry,
                 std::function<void()> done);

  const config::Config* cfg_;  // the daemon's, replaced by a reload (rebind)
  const Clock& clock_;
  coord::EtcdCoordinator& etcd_;
  decide::Decider& decider_;
  const std::map<std::string, coord::Roles>& roles_;
  Hooks hooks_;
  std::map<std::string, Pending> pending_;
  std::map<std::string, Dissent> dissent_;
  std::map<std::string, std::pair<WallTime, std::string>> failed_;  // when, by which rule
  std::map<std::string, WallTime> roles_moved_;
  std::map<std::string, WallTime> failed_since_;  // the failure's first failed sample
  std::set<std::string> fenced_;                  // self-fenced since etcd was last reached
  std::set<std::string> quorum_fired_;  // a quorum-called failure reported, this episode
  std::unique_ptr<coord::Coordinator> fence_grants_;
  actions::FailoverRunner fence_runner_;
  bool cut_off_ = false;
  actions::ActionEnv& env_;
  std::vector<std::function<void()>> idle_waiters_;
};

}  // namespace hftguard::cli

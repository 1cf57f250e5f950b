#pragma once
// The validated, immutable configuration. Every field is filled (defaults applied) by the
// loader; nothing downstream re-validates. Shared as std::shared_ptr<const Config>.

#include <array>
#include <map>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hftguard/config/params.hpp"
#include "hftguard/config/secret.hpp"
#include "hftguard/core/duration.hpp"

namespace hftguard::config {

enum class Layer { Process, Service, Business, EndToEnd };
enum class Tier { Hot, Warm, Cold };
// full: fail over on its own; semi: decide and alert, an operator confirms with
// `hftguard failover`; manual: detect and alert only.
enum class Automation { Full, Semi, Manual };
enum class Severity { Info, Warning, Critical };
enum class OnFailure { Abort, Continue };

inline constexpr std::size_t kLayerCount = 4;

std::string_view toString(Layer v);
std::string_view toString(Tier v);
std::string_view toString(Automation v);
std::string_view toString(Severity v);
std::string_view toString(OnFailure v);

// Where an item was written: 1-based line and column in the config file.
struct Location {
  int line = 0;
  int column = 0;
  // Where an item is written is not what it means: two configs that differ only in layout
  // (a comment added above a check) compare equal, so a reload keeps that check's state.
  friend bool operator==(const Location&, const Location&) { return true; }
};

struct NodeConfig {
  bool operator==(const NodeConfig&) const = default;
  std::string name;
  std::string site;
};

struct LayerTiming {
  bool operator==(const LayerTiming&) const = default;
  Duration interval;
  Duration timeout;
};

struct ProbeDefaults {
  bool operator==(const ProbeDefaults&) const = default;
  std::array<LayerTiming, kLayerCount> layers;  // indexed by Layer
  double jitter = 0;                            // fraction of the interval
  int fall = 3;
  int rise = 2;
  const LayerTiming& of(Layer l) const { return layers[static_cast<std::size_t>(l)]; }
};

struct CheckConfig {
  bool operator==(const CheckConfig&) const = default;
  std::string name;
  std::string type;  // a "check" KindSpec
  Layer layer = Layer::Service;
  Duration interval{};
  Duration timeout{};
  int fall = 3;
  int rise = 2;
  bool informational = false;  // reported, never fails the component
  std::string description;
  Params params;
  Location where;
};

struct LatencyTrigger {
  bool operator==(const LatencyTrigger&) const = default;
  bool enabled = true;
  Duration above{};
  Duration sustained_for{};
  std::string check;  // empty: any check of the component
};

struct ErrorRateTrigger {
  bool operator==(const ErrorRateTrigger&) const = default;
  bool enabled = true;
  double above = 0;
  Duration window{};
  int min_samples = 10;
  std::string check;
};

struct UtilisationTrigger {
  bool operator==(const UtilisationTrigger&) const = default;
  bool enabled = true;
  double above = 0;
  Duration sustained_for{};
  std::string check;
};

struct Triggers {
  bool operator==(const Triggers&) const = default;
  LatencyTrigger latency;
  ErrorRateTrigger error_rate;
  UtilisationTrigger cpu;
  UtilisationTrigger memory;
  bool network_partition = true;
  bool data_corruption = true;
};

// BGP-style route-flap damping: each up/down flip adds `penalty`, which halves every
// `half_life`; above `suppress_above` failovers are held until it decays below `reuse_below`.
struct FlapDamping {
  bool operator==(const FlapDamping&) const = default;
  bool enabled = true;
  double penalty = 1000;
  double suppress_above = 2000;
  double reuse_below = 750;
  Duration half_life{};
  Duration max_suppress{};
};

// The data store's own HA to follow: when Redis Sentinel switches the master by itself,
// hftguard hears it (+switch-master) and runs the component's plan at once.
struct FollowConfig {
  bool operator==(const FollowConfig&) const = default;
  std::string type;  // "sentinel"
  std::vector<std::string> sentinels;  // host:port
  std::string master_name;
  std::optional<Secret> sentinel_password;
  Duration reconnect{};  // after a lost subscription
};

// `hftguard switchover COMPONENT`: a planned move of the primary role to a standby member
// (docs/operations.md#switchover). Plans by name.
struct SwitchoverConfig {
  bool operator==(const SwitchoverConfig&) const = default;
  std::string plan;         // the procedure: drain, final sync, promote, infrastructure
  std::string pre_checks;   // a plan of checks run first; a failed step refuses ("" none)
  std::string post_checks;  // a plan of checks run after; a failed step fails it ("" none)
  Duration healthy_within{};  // the component healthy on the new primary within this
  Location where;
};

// One instance of a component (an engine, a database server): its name, its host and the
// addresses checks and plans reach it by ({primary.host}, {new_primary.api} ...).
struct MemberConfig {
  bool operator==(const MemberConfig&) const = default;
  std::string name;
  StringMap values;  // always has "name" and "host"
  Location where;
  const std::string& host() const { return values.find("host")->second; }
  // The hftguard node (node.name) running on this member's host: its daemon's word about
  // the member counts as the host's own testimony, and it self-fences the member. "" unset.
  std::string node() const {
    auto it = values.find("node");
    return it == values.end() ? std::string() : it->second;
  }
};

// A component's checks as they read with one member in a role: `as_primary` (its `checks`,
// {primary.*} filled from the member) and `as_standby` (its `standby_checks`, {standby.*}
// filled, informational). Check names are the same for every member; the scheduler swaps
// one for another when the roles move.
struct RoleChecks {
  bool operator==(const RoleChecks&) const = default;
  std::vector<CheckConfig> as_primary;
  std::vector<CheckConfig> as_standby;
};

struct ComponentConfig {
  bool operator==(const ComponentConfig&) const = default;
  std::string name;
  std::string description;
  Tier tier = Tier::Hot;
  Automation automation = Automation::Full;
  Duration rto_target{};
  std::string plan;  // empty: no plan (manual components)
  // Without members: labels for {old_primary}/{new_primary}, the instance failed over from
  // and to. With members: the roles before any state says otherwise (the cluster state's
  // first value) - the names of two members.
  std::string primary;
  std::string standby;
  // Empty: roles are not tracked (a store with its own HA, one fixed pair).
  std::vector<MemberConfig> members;
  std::map<std::string, RoleChecks, std::less<>> role_checks;  // by member name
  // What runs: with members, the primary's checks then the standby's, for the configured
  // roles; the scheduler re-targets them from the cluster state.
  std::vector<CheckConfig> checks;
  Triggers triggers;
  Duration cooldown{};
  // Opt-in, for plans whose steps are safe to run again: a failover this daemon ran that
  // failed at a step is run again from its first step while the component stays failed, up
  // to `failover_retries` times in one outage, the k-th after `failover_retry_backoff`·2^(k-1).
  int failover_retries = 0;
  Duration failover_retry_backoff{std::chrono::seconds(5)};
  FlapDamping flap_damping;
  std::optional<FollowConfig> follow;
  std::optional<SwitchoverConfig> switchover;
  std::vector<std::string> alert_channels;  // resolved: every channel when not given
  // With etcd: how many live observers (daemons) must see the primary down before the leader
  // fails it over; 0 = a majority of those that observe it (docs/safety.md).
  int quorum = 0;
  // With etcd: the plan the primary's own host runs when its daemon loses etcd (it cannot
  // renew its lease), ending before that lease can expire; "" none.
  std::string self_fence;
  Location self_fence_where;
  Location where;

  const CheckConfig* findCheck(std::string_view name) const;
  const MemberConfig* findMember(std::string_view name) const;
  // The checks for these roles, in the order of `checks` (standby's may be empty: the
  // standby checks then keep the primary's order but address no one - null).
  std::vector<const CheckConfig*> checksFor(std::string_view primary,
                                            std::string_view standby) const;
};

struct SystemPolicy {
  bool operator==(const SystemPolicy&) const = default;
  std::string plan;  // empty: system-tier failures are alerted, not acted on
  int min_failed_components = 2;
  Duration window{};
};

struct StepConfig {
  bool operator==(const StepConfig&) const = default;
  std::string name;
  std::string action;  // an "action" KindSpec
  std::string description;
  Duration timeout{};
  int retries = 0;
  Duration backoff{};
  OnFailure on_failure = OnFailure::Abort;
  Params params;
  Location where;
};

struct PlanConfig {
  bool operator==(const PlanConfig&) const = default;
  std::string name;
  std::string description;
  std::vector<StepConfig> steps;
  Location where;
};

struct ChannelConfig {
  bool operator==(const ChannelConfig&) const = default;
  std::string name;
  std::string type;  // a "channel" KindSpec
  Severity min_severity = Severity::Info;
  Params params;
  Location where;
};

struct AlertingConfig {
  bool operator==(const AlertingConfig&) const = default;
  int queue_limit = 1000;
  int max_in_flight = 4;
  Duration initial_backoff{};
  Duration max_backoff{};
  Duration deadline{};
  Duration group_window{};
  std::vector<ChannelConfig> channels;
};

struct CoordinationConfig {
  bool operator==(const CoordinationConfig&) const = default;
  std::string type = "local";  // local | etcd
  std::vector<std::string> endpoints;
  Duration lease_ttl{};
  std::string key_prefix;
  std::string cluster = "hftguard";  // the daemons that share one state: <key_prefix><cluster>/
  std::string username;
  std::optional<Secret> password;
  bool tls_verify = true;
  std::string ca_file;    // empty: the system's CA store
  std::string cert_file;  // a client certificate (etcd's --client-cert-auth), with key_file
  std::string key_file;
  // A daemon that has not renewed its lease for this long (its last renewal counted from
  // when it was sent) has lost etcd: it runs its components' self_fence plans and reports
  // a network partition. Default max(ttl/2, ttl/3 + 2 request timeouts + 500ms).
  Duration self_fence_after{};
  Location self_fence_after_where;
};

// With etcd: the longest a leader can always promise to still lead - it renews its lease
// every ttl/3 and stops acting a margin (max(500ms, ttl/10)) before the lease could expire,
// counted from the renewal's send time - so the window just before a renewal is
// 2/3 ttl - a request's timeout - margin. Every step attempt must fit in it.
Duration leaseMargin(Duration ttl);
Duration leaseRequestTimeout(Duration ttl);  // one etcd request: min(1s, ttl/3)
Duration leaseWindow(Duration ttl);
// The shortest self_fence_after: one renewal missed (the next is sent ttl/3 after the last
// one's answer, and each may take a request timeout), so a renewal merely slow never fences.
Duration minSelfFenceAfter(Duration ttl);
Duration defaultSelfFenceAfter(Duration ttl);
// How long a plan can run at most: every attempt of every step and the backoffs between.
Duration planBudget(const PlanConfig& plan);

// The control API (docs/operations.md): a TCP listener and a unix socket, either "" (off).
struct ControlApiConfig {
  bool operator==(const ControlApiConfig&) const = default;
  bool enabled = true;
  std::string listen;  // host:port
  std::string socket;  // an absolute path
  std::optional<Secret> token;
  bool allow_remote = false;
};

// One `hftguard drill` scenario: plans (by name) that inject a fault, verify service, and
// restore the stack; the drill measures what the running daemon does in between.
struct DrillScenario {
  bool operator==(const DrillScenario&) const = default;
  std::string name;
  std::string description;
  std::string component;
  std::string inject;   // plan
  std::string restore;  // plan; empty: none
  std::string verify;   // plan; empty: none
  bool expect_failover = true;  // false: a blip - the drill passes only if none happens
  // A planned operation: the component is in maintenance while `inject` (the operation
  // itself) runs, so the daemon must not fail over; `inject` is what is measured.
  bool maintenance = false;
  std::optional<Duration> fault_for;  // restore after this long (a blip), else after the outcome
  Duration timeout{};  // for the failover's outcome
  Duration observe{};  // a blip: how long no failover must follow
  // Run as soon as a daemon has started the failover (kill -9 the leading daemon); empty: none.
  std::string mid_failover{};
  // Failovers in a row: after each, the restore rebuilds the old primary and the drill returns
  // it as a standby; each must go to the member the roles name as candidate (there and back).
  int rounds = 1;
  // What "no failover" means for a scenario that expects none: no daemon even decided to fail
  // over (a blip), or none started one (a partition: a cut-off observer's own verdict is
  // expected, and the quorum holds it).
  enum class Calm { NoTrigger, NoFailover } calm = Calm::NoTrigger;
};

// `drill:` beside the scenarios: where the drill runs from, and what it checks after each run.
struct DrillOptions {
  bool operator==(const DrillOptions&) const = default;
  std::string netns;                   // a network namespace the drill enters first; "" none
  std::vector<std::string> histories;  // engines' role histories: never two primaries at once
};

struct Config {
  std::string source_path;
  NodeConfig node;
  std::string log_level;
  std::string event_log_path;
  int event_queue_limit = 10000;
  ProbeDefaults probes;
  std::vector<ComponentConfig> components;
  SystemPolicy system;
  std::vector<PlanConfig> plans;
  AlertingConfig alerts;
  CoordinationConfig coordination;
  ControlApiConfig control_api;
  std::string maintenance_path;  // written by `hftguard maintenance`, read by the daemon
  std::vector<DrillScenario> drill;
  DrillOptions drill_options;

  const ComponentConfig* findComponent(std::string_view name) const;
  const PlanConfig* findPlan(std::string_view name) const;
  const ChannelConfig* findChannel(std::string_view name) const;
  const DrillScenario* findScenario(std::string_view name) const;
};

}  // namespace hftguard::config

#pragma once
// The cluster's state: per component, which member is primary, which stand by (in the order
// they would be promoted), which are fenced (out until rebuilt and marked ready), and the
// epoch - a number that grows by one with each completed failover and never goes back.
// Config says which members may be; the state says what is. Pure values and transitions
// here; where the state is kept (a file, etcd) is the store's.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hftguard/config/config.hpp"

namespace hftguard::coord {

struct LastFailover {
  std::string from;
  std::string to;
  std::string at;     // RFC 3339
  std::string event;  // the failover_started event's id
  bool operator==(const LastFailover&) const = default;
};

struct Roles {
  std::string primary;
  std::vector<std::string> standbys;
  std::vector<std::string> fenced;
  std::uint64_t epoch = 0;
  std::optional<LastFailover> last_failover;

  // The member the next failover promotes; empty when no standby is ready.
  std::string candidate() const { return standbys.empty() ? std::string() : standbys.front(); }
  // The member standby checks address: the candidate, else the first fenced member (whose
  // rebuild is then what there is to watch).
  std::string watched() const;
  bool operator==(const Roles&) const = default;
};

struct ClusterState {
  std::map<std::string, Roles> components;
  bool operator==(const ClusterState&) const = default;
};

// The roles before any state: the configured primary; the configured standby first, then
// the other members in config order.
Roles initialRoles(const config::ComponentConfig& c);
// Stored roles fitted to the config: members no longer configured are dropped (noted), new
// ones stand by last. Returns an empty optional with `why` when the stored primary is no
// longer a member: the operator must say who is primary, hftguard never guesses.
std::optional<Roles> fitRoles(const config::ComponentConfig& c, Roles stored, std::string* why,
                              std::vector<std::string>* notes = nullptr);
// Every component of the config with members, from `stored` where it has them.
ClusterState fitState(const config::Config& cfg, const ClusterState& stored,
                      std::vector<std::string>* problems);

// A completed failover: `to` becomes primary, `from` fenced, epoch + 1. Refused (why) unless
// the roles are still those the plan started from (`from` primary at `from_epoch`, `to` a
// standby): a failover is applied once, and never over a newer one.
std::string applyFailover(Roles& r, const std::string& from, const std::string& to,
                          std::uint64_t from_epoch, LastFailover what);
// An operator returns a rebuilt member: fenced -> last standby.
std::string markReady(Roles& r, const std::string& member);
// An operator takes a standby out (to rebuild it): standby -> fenced. Never the primary.
std::string markFenced(Roles& r, const std::string& member);

nlohmann::json toJson(const ClusterState& s);
nlohmann::json toJson(const Roles& r);
// Why not in `why` when the JSON is not a state this version wrote.
std::optional<ClusterState> stateFromJson(const nlohmann::json& j, std::string* why);

}  // namespace hftguard::coord

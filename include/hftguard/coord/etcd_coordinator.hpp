#pragma once
// `coordination: etcd`: every daemon of a cluster shares one state in etcd, under
// `<key_prefix><cluster>/`:
//   leader            the node that acts; bound to its lease (create-if-absent transaction)
//   roles/<component> the component's roles (cluster_state.hpp), changed only by compare-and-set
//   plans/<component> the plan in flight for the component: its journal (plan_journal.hpp),
//                     written by the leader only (a transaction comparing the leader key)
//   daemons/<node>    what each daemon reports (its health view, its observations of each
//                     primary, whether it leads), bound to its lease: gone when the daemon is
//   stopped/<node>    a daemon stopped by an operator (not bound to a lease; removed when it
//                     reports again): its report is gone, but it did not fence itself
//   maintenance       the cluster's maintenance windows (maintenance_file.hpp's format),
//                     written by `hftguard maintenance` (compare-and-set), read by every daemon
// Every daemon campaigns; only the leader runs failover plans. The leader renews its lease
// every ttl/3 and stops acting (acquire() and Lease::holds() refuse) a margin before the
// lease could have expired on etcd's side, counted from when its last renewal was *sent*:
// a leader cut off from etcd stops before another can be elected, never after.
// Everything runs on the event loop; no call blocks.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hftguard/config/config.hpp"
#include "hftguard/control/maintenance_file.hpp"
#include "hftguard/coord/cluster_state.hpp"
#include "hftguard/coord/coordinator.hpp"
#include "hftguard/coord/etcd_client.hpp"
#include "hftguard/coord/quorum.hpp"
#include "hftguard/core/clock.hpp"

namespace boost::asio {
class io_context;
}

namespace hftguard::coord {

// <key_prefix><cluster>/
std::string clusterPrefix(const config::Config& cfg);
EtcdOptions etcdOptions(const config::Config& cfg);

class EtcdCoordinator final : public Coordinator {
 public:
  struct Hooks {
    // The roles of a component as etcd has them, on every change seen (and at the first read).
    std::function<void(const std::string& component, const Roles& roles)> roles;
    // This daemon became leader, or stopped being it (why).
    std::function<void(bool leading, const std::string& leader, const std::string& why)> leadership;
    // The live daemons' reports changed: one came, changed or went.
    std::function<void()> observers;
    // This daemon has not renewed a lease for coordination.self_fence_after (counted from
    // the last renewal sent, or from start() when it never held one): it is cut off from
    // etcd, and its lease (if any) expires at `expiry` at the earliest. Or (lost false) it
    // holds a lease again.
    std::function<void(bool lost, const std::string& why, SteadyTime expiry)> cut_off;
  };

  EtcdCoordinator(boost::asio::io_context& io, net::HttpClient& http, const Clock& clock,
                  const config::Config& cfg, Hooks hooks);
  ~EtcdCoordinator() override;

  // Reads the roles (writing the configured ones where etcd has none), then campaigns.
  void start();
  // Resigns: says it is being stopped (stopped/<node>), stops renewing and revokes the lease
  // (bounded by the request timeout), so another daemon takes over at once rather than after
  // the TTL; `then(error)` after that. `error` non-empty: stopped/<node> could not be written
  // (etcd unreachable): the lease is not revoked and the cut-off clock keeps running - the
  // others will take this daemon for cut off, so it must fence before it goes.
  void stop(std::function<void(const std::string& error)> then);

  std::string name() const override { return "etcd"; }
  std::unique_ptr<Lease> acquire(const std::string& component, Grant& grant) override;

  bool leading() const;
  std::string leader() const;  // as last read; "" when nobody leads
  bool rolesKnown() const;
  std::optional<Roles> roles(const std::string& component) const;

  // A completed failover from `from` (primary at `from_epoch`) to `to`, in one transaction
  // that holds only while this daemon still leads and the roles are those last read. A
  // failover already applied (the same outcome) counts as done. `done(error, roles after)`.
  void commitFailover(const std::string& component, const std::string& from,
                      const std::string& to, std::uint64_t from_epoch, LastFailover what,
                      std::function<void(std::string error, Roles after)> done);

  // The plans in flight as last read (and as this daemon's own writes left them). Known once
  // this daemon leads and has read the keys at a revision after its election: every write of
  // an earlier leader is older than that, so none is missed.
  bool plansKnown() const;
  // When a plan's journal for the component was last seen in etcd - present in a read, or
  // written or deleted in the watch (some leader ran, or holds, its failover then); empty
  // when never since this daemon started. "" for any component's.
  std::optional<WallTime> planSeenAt(const std::string& component) const;
  // This daemon's report (JSON text) at daemons/<node>, bound to its lease; written when it
  // changes (and when the lease is new), not more.
  void report(std::string text);
  // The cluster's maintenance key as last read: nullopt before any read (etcd unreachable
  // since the start: the windows last known stand), "" when there is none.
  std::optional<std::string> maintenance() const;
  // Each live daemon's report (daemons/<node>), by node, as last read.
  std::map<std::string, std::string> daemons() const;
  // What is known of `node`'s daemon: live (its report is there), gone (seen live since this
  // daemon started, now not: its lease expired or was revoked), stopped (gone, and it left
  // stopped/<node>: an operator stopped it), or never seen.
  Presence presence(const std::string& node) const;
  // For a gone daemon: when this daemon noticed its report go, and that report's text.
  std::optional<SteadyTime> goneAt(const std::string& node) const;
  std::string lastReport(const std::string& node) const;
  // How many daemons are known: live now, or seen live since this daemon started.
  int knownDaemons() const;
  // The earliest moment this daemon's lease can expire on etcd's side (its last renewal's
  // send time + ttl); the zero time when it holds none.
  SteadyTime leaseExpiry() const;
  std::optional<KeyValue> plan(const std::string& component) const;
  // Writes a plan's journal while this daemon leads; `expect` is the key's mod_revision as
  // this daemon last saw it (0: absent). `done(error, revision written)`.
  void writePlan(const std::string& component, std::string text, std::int64_t expect,
                 std::function<void(std::string error, std::int64_t revision)> done);
  // Removes it, under the same two compares.
  void removePlan(const std::string& component, std::int64_t expect,
                  std::function<void(std::string error)> done);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// An operator's change to one component's roles in etcd (`hftguard member`): read, change,
// compare-and-set on the key's revision; retried a few times if it moved meanwhile.
void updateRolesInEtcd(EtcdClient& etcd, const config::Config& cfg,
                       const config::ComponentConfig& c,
                       std::function<std::string(Roles&)> change,
                       std::function<void(std::string error, Roles after)> done);

// An operator drops an interrupted plan's journal (`hftguard failover --abandon`): removed
// only if it is still the one read (`revision`).
void dropPlanInEtcd(EtcdClient& etcd, const config::Config& cfg, const std::string& component,
                    std::int64_t revision, std::function<void(std::string error)> done);
// What `hftguard status` shows of a cluster: one read of every key under its prefix.
struct ClusterView {
  std::string leader;                        // "" when nobody leads
  std::map<std::string, Roles> roles;        // components with members (configured ones where
                                             // etcd has none yet)
  std::map<std::string, KeyValue> plans;     // plans in flight, by component
  std::map<std::string, std::string> daemons;  // each live daemon's report, by node
  std::vector<std::string> problems;         // keys that could not be read as what they hold
};
void readClusterInEtcd(EtcdClient& etcd, const config::Config& cfg,
                       std::function<void(std::string error, ClusterView view)> done);

// An operator's change to the cluster's maintenance windows (`hftguard maintenance` with etcd):
// read, change, compare-and-set on the key's revision, retried a few times if it moved.
void updateMaintenanceInEtcd(
    EtcdClient& etcd, const config::Config& cfg,
    std::function<std::string(std::vector<control::MaintenanceEntry>&)> change,
    std::function<void(std::string error, std::vector<control::MaintenanceEntry> after)> done);

// The journal of a component's plan in flight, if any (`done(error, kv)`).
void readPlanInEtcd(EtcdClient& etcd, const config::Config& cfg, const std::string& component,
                    std::function<void(std::string error, std::optional<KeyValue> kv)> done);

}  // namespace hftguard::coord

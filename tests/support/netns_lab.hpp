#pragma once
// Test support: a cluster of "hosts" in network namespaces - the partition drill's stage
// (docs/safety.md). Every host, the witness too, has its own namespace with one veth into a
// bridge namespace; nothing is routed from the root namespace (where the test runs) to any
// of them, so a downed link can never send packets out of the machine's default route.
// Each host runs an etcd member; hosts 1 and 2 run an engine simulator (engine_a, the
// primary, and engine_b) that writes its role history on the shared monotonic clock; every
// host runs an hftguard daemon. Partitions: a host's link taken down (in the bridge
// namespace), or nftables drop rules between two hosts inside the first one's namespace
// (asymmetric cuts). Everything it starts it stops by PID; the namespaces go with it.
// Needs root (CAP_NET_ADMIN): the constructor throws with the reason otherwise.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "hftguard/drill/histories.hpp"

#include "event_file.hpp"
#include "process.hpp"

namespace hftguard::testing {

// The intervals each engine took orders as primary (by engine), and the time two were.
using History = drill::Histories;

// The plans of the partition tests' `engine` component, as config YAML (from `plans:` on):
// `fence_here` demotes {old_primary} (the self-fence), `move` fences it and promotes
// {new_primary}.
// `before_promote`: more steps of `move` between the two (YAML list items).
std::string partitionPlans(const std::string& before_promote = {});

class NetnsLab {
 public:
  // `hosts` >= 3; host 3.. are witnesses (no engine). `hftguard`: the daemon's binary;
  // `lease_ttl_s`: the daemons' lease; `state_dir`: where the hosts' files go (kept), else a
  // temporary directory (removed with the lab). Besides the hosts, a client namespace (no
  // etcd, no daemon) on the same bridge: where `hftguard drill` runs from.
  explicit NetnsLab(std::string hftguard, int hosts = 3, int lease_ttl_s = 6,
                    std::string state_dir = {});
  ~NetnsLab();
  NetnsLab(const NetnsLab&) = delete;
  NetnsLab& operator=(const NetnsLab&) = delete;

  int hosts() const { return hosts_; }
  std::string ns(int host) const;          // 1-based
  std::string ip(int host) const;          // 10.77.0.<host>
  std::string node(int host) const;        // hftguard node name: h<host>
  std::string events(int host) const;      // its daemon's event log
  std::string dir() const { return dir_; }
  std::string clientNs() const { return prefix_ + "c"; }
  std::string bridgeNs() const { return prefix_ + "br"; }
  std::string link(int host) const;  // the host's link, in the bridge namespace: vb<host>

  // The config of `hftguard drill` on this lab (scripts/sandbox up --hosts 3): the daemons'
  // component and plans, `drill.netns` the client namespace, the engines' histories, and the
  // partition scenarios (partition-primary-host, partition-observer,
  // partition-primary-observer-cut) as plans of `exec` steps that cut and heal links.
  std::string drillConfig() const;

  // Other plans than partitionPlans() (before start()): the same names, `fence_here` and
  // `move`, as config YAML from `plans:` on.
  void usePlans(std::string yaml) { plans_ = std::move(yaml); }
  // Starts etcd on every host, the engines, then every daemon; true once one daemon leads
  // and every daemon has reported to etcd.
  bool start();
  void stopDaemon(int host);
  void startDaemon(int host);

  // Partitions. isolate: the host's link down (bridge side); cut: drop everything between a
  // and b (rules inside a's namespace, both directions); heal: every link up, every rule gone.
  void isolate(int host, bool down);
  void cut(int a, int b);
  void heal();

  // A command inside a host's namespace (bounded); its output in `out`.
  int execIn(int host, const std::vector<std::string>& argv, std::string* out = nullptr);
  // An HTTP call from inside `from`'s namespace (curl); the body, "" on failure.
  std::string http(int from, const std::string& method, const std::string& url,
                   const std::string& body = {});

  // The daemon that leads (its latest leadership event), among `among` (1-based); 0: none.
  int leader(const std::set<int>& among = {}) const;
  // The etcd member that leads etcd's raft (as host 1..N), asked from `from`; 0: unknown.
  int etcdLeader(int from);
  std::size_t count(const std::string& type) const;  // over every daemon's log
  std::vector<events::Event> eventsOf(int host) const;
  History history() const;  // the engines' role histories up to now
  static std::int64_t nowNs();
  std::string dump() const;  // every daemon's events, for a failure message

 private:
  void run(const std::vector<std::string>& argv);  // throws on failure
  std::vector<std::string> inNs(int host, std::vector<std::string> argv) const;
  std::string sharedConfig(int first) const;
  void writeConfig(int host) const;
  void teardown();
  void addNs(const std::string& name);

  std::string hftguard_;
  int hosts_;
  int ttl_s_;
  std::string prefix_;
  std::optional<TempDir> temp_;
  std::string dir_;
  std::string plans_ = partitionPlans();
  std::vector<std::string> namespaces_;  // created by this lab, deleted by it
  std::vector<ChildProcess> etcd_;
  std::vector<ChildProcess> engines_;
  std::map<int, ChildProcess> daemons_;
  std::set<int> isolated_;
  std::set<int> cutting_;  // hosts with drop rules
};

}  // namespace hftguard::testing

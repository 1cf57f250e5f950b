#pragma once
// Observations and their quorum (docs/safety.md). Every daemon says what it sees of each
// component's primary - in its report at daemons/<node>, bound to its lease, so only live
// daemons speak - and the leader fails a component over only when enough of them agree it
// is down. A daemon cut off from the primary sees it "down" while every client may still
// reach it: its word alone is a disagreement to report, never a failover.
// Pure: no I/O, no clock; the daemon feeds what it read from etcd.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hftguard/core/duration.hpp"

namespace hftguard::coord {

// One daemon's view of one component's primary.
struct Observation {
  std::string node;
  std::string verdict = "unknown";  // down | up | unknown (not enough samples yet)
  std::string primary;              // the member (or label) it probes as primary
  std::uint64_t epoch = 0;          // of those roles (0: not tracked)
  std::vector<std::string> failing;  // its checks that are down
  // Its down verdict rests on a check only the primary's own host can run (process, host).
  bool host_check = false;
  // Down: when its failure began (its first failed sample), ms since the Unix epoch; 0 unknown.
  std::int64_t since_ms = 0;
  bool operator==(const Observation&) const = default;
};

nlohmann::json toJson(const Observation& o);
// Every component's observation in a daemon's report ({"observations": {component: {...}}});
// entries that are not objects are left out.
std::map<std::string, Observation> observationsIn(const nlohmann::json& report,
                                                  const std::string& node);

struct QuorumVerdict {
  bool reached = false;
  int needed = 0;     // down verdicts needed
  int observers = 0;  // live daemons observing the component
  std::vector<std::string> down_by, up_by, unknown_by, elsewhere_by;
  std::string testimony;  // the primary's host, when its own word decided
  std::int64_t earliest_down_ms = 0;  // the earliest `since_ms` of the down verdicts; 0 none
  std::string reason;     // one line, either way
  nlohmann::json fields() const;  // who saw what, for the event
};

// Whether the observations of the live daemons (this one's included) agree that `primary`
// (at `epoch`) is down. `quorum` 0: a majority of them. A view of another primary or epoch
// is of something else and counts as not down. The primary's own host (`host_node`, ""
// unknown) saying its process is gone (a down verdict on a host-only check) decides alone:
// that is the host's testimony, not a view across the network.
// `known`: the daemons known to the cluster (live or seen live since this daemon started):
// the default majority is of max(live, known), and at least 2 once more than one daemon is
// known - daemons that restart or go do not shrink the quorum to one vote.
QuorumVerdict judgeQuorum(const std::vector<Observation>& observers, const std::string& primary,
                          std::uint64_t epoch, int quorum, const std::string& host_node,
                          int known = 0);

// Before a failover from a primary whose host self-fences (its component has a self_fence
// plan, the member a `node`), the leader waits for the moment that host has fenced itself
// if it is cut off: its daemon's lease gone - the evidence. Its daemon live and seeing the
// primary down (a crash, not a partition) needs no wait, nor does a component without
// self-fencing; a daemon stopped by an operator or never seen did not fence anything. In
// those cases the plan's own fence must prove the primary down. Live without a view of the
// component (an older daemon, a report that cannot be read) is waited for like one that sees
// it up. Waiting longer than `bound` (its key stays: it renews, so it is not cut off) ends
// the wait without evidence. Gone is evidence only when the caller found it recent (its key
// went within a lease of the outage, its last word about the same primary and epoch).
// What the leader knows of a daemon: live (its report is in etcd), gone (seen live since
// the leader started, now not: its lease expired, or was revoked), stopped (gone, and it said
// it was being stopped by an operator), or never seen.
enum class Presence { Live, Gone, Stopped, NeverSeen };

struct SelfFenceGate {
  bool wait = false;
  std::string evidence;  // non-empty: the host has fenced itself by now (PlanContext::self_fenced)
  std::string reason;
};
// `host_view`: the host daemon's observation when it is live.
SelfFenceGate judgeSelfFence(bool self_fences, const std::string& host_node, Presence presence,
                             const std::optional<Observation>& host_view, Duration waited,
                             Duration bound, Duration self_fence_after);

}  // namespace hftguard::coord

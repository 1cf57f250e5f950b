#pragma once
// May this node act? The failover runner asks before every plan. `local` (one host) grants
// when no other process on the host runs a plan for the component (a file lock), with a
// fencing token; the etcd coordinator (leader election, fencing tokens) comes later behind
// the same interface.

#include <memory>
#include <string>
#include <vector>

#include "hftguard/core/duration.hpp"

namespace hftguard::coord {

struct Grant {
  bool granted = false;
  std::string fencing_token;
  std::string reason;  // why not, or how it was granted
};

// Held while a plan runs; releasing it lets the next plan for the component start.
class Lease {
 public:
  virtual ~Lease() = default;
  // "" while its holder may still act for at least `span` from now; else why not (the etcd
  // leader's lease could expire within it). The runner asks before every step attempt.
  virtual std::string holds(Duration span) const {
    (void)span;
    return {};
  }
};

class Coordinator {
 public:
  virtual ~Coordinator() = default;
  virtual std::string name() const = 0;
  // Synchronous for `local`; a lease is returned only with a grant.
  virtual std::unique_ptr<Lease> acquire(const std::string& component, Grant& grant) = 0;
};

// One host: a lock file per component under `lock_dir`, so the daemon and an operator's
// `hftguard failover` never run two plans for one component at once. The files of
// `components` are created up front (mode 0640 in a setgid 02770 directory of the state
// directory's group, locked through read-only descriptors), so the daemon's unprivileged
// user can lock a file root created, and the other way round; other users cannot.
std::unique_ptr<Coordinator> makeLocalCoordinator(std::string lock_dir,
                                                  const std::vector<std::string>& components = {});

}  // namespace hftguard::coord

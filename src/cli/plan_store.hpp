#pragma once
// Private to the CLI: where the journal of a plan in flight is kept. `coordination: local`:
// a file beside the component's lock on this host (plan_journal.hpp), and a plan found
// interrupted holds the component until an operator resumes or abandons it. `etcd`: the key
// plans/<component> of the cluster, written only by the leader (each write compares the
// leader key and the journal's revision), so that whichever daemon leads next finds the plan
// its predecessor left, re-verifies it and resumes it (plan_keeper.hpp).

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "hftguard/actions/plan_journal.hpp"
#include "hftguard/actions/runner.hpp"
#include "hftguard/net/worker_pool.hpp"

namespace hftguard::coord {
class EtcdCoordinator;
}

namespace hftguard::cli {

class PlanStore {
 public:
  virtual ~PlanStore() = default;
  // Whether what read() says can be trusted now (etcd: read since this daemon became leader).
  virtual bool known() const = 0;
  // The component's journal; nullopt when there is none or (error set) it cannot be read.
  virtual std::optional<actions::PlanJournal> read(const std::string& component,
                                                   std::string* error) const = 0;
  // A journal is there, readable or not.
  bool there(const std::string& component) const;
  // Where it is kept, for events: a path or an etcd key.
  virtual std::string where(const std::string& component) const = 0;
  // The leader resumes a plan its predecessor left (etcd); else (local) an interrupted plan
  // holds its component until an operator acts.
  virtual bool resumesItself() const = 0;

  // Sets a real run's RunRequest::progress, ::failing, ::tidy and ::admit (an admit already
  // there must agree too). `taken_over`: the journal of an interrupted plan this run
  // continues; the run is admitted only while it is still that one, otherwise only while
  // there is none.
  virtual void attach(actions::RunRequest& request, const actions::PlanJournal* taken_over) = 0;
  // Removes a journal no run needs any more (its failover is already in the roles), only if
  // it is still `j`; `done(error)` on the loop.
  virtual void drop(const actions::PlanJournal& j, std::function<void(std::string)> done) = 0;
};

std::unique_ptr<PlanStore> makeLocalPlanStore(std::string lock_dir, net::WorkerPool& disk);
std::unique_ptr<PlanStore> makeEtcdPlanStore(coord::EtcdCoordinator& etcd);

}  // namespace hftguard::cli

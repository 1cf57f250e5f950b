#pragma once
// Runs a plan: its steps in order on the event loop, each with a deadline, retries with
// backoff and an on_failure rule; records failover_started, step_started, step_done /
// step_failed and failover_completed / failover_failed (each on disk before the next step
// starts or the plan is reported ended)
// and measures the RTO from the first failed sample to the end of the last step.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "hftguard/actions/action.hpp"
#include "hftguard/coord/coordinator.hpp"

namespace hftguard::actions {

struct RunRequest {
  // What the run is, for its events' names: "failover" (failover_started ...), or
  // "switchover_checks" for a switchover's pre- and post-checks, which are not failovers.
  std::string kind = "failover";
  // The switchover this run is the plan of ("" none): every event of the run carries it
  // (`switchover`), so metrics and alerts tell a planned move from a failover.
  std::string switchover;
  std::string component;
  const config::PlanConfig* plan = nullptr;
  PlanContext context;  // timestamp and fencing_token are filled by the runner
  bool dry_run = false;
  std::optional<WallTime> first_failure;         // the RTO's start; none: the plan's start
  std::string rto_from = "first failed sample";  // what first_failure is, for the event
  Duration rto_target{};
  std::string trigger;  // the id of the event that asked for this run, if any
  // Steps already done by an interrupted run of this plan (`hftguard failover --resume`):
  // the run starts after them.
  std::size_t first_step = 0;
  // Real runs only: called when the plan starts and after each step it passes, with the
  // steps passed and the context as it stands now - what a plan journal keeps. It calls
  // `kept(error)` on the loop once that is kept ("") or given up on; the runner goes on only
  // then, so the loop never waits on the disk for it. A non-empty error stops the run where
  // it stands (failover_interrupted, resumable): a journal kept in etcd that was refused
  // means this daemon no longer leads. A writer that only logs its failures passes "".
  using Kept = std::function<void(const std::string& error)>;
  std::function<void(std::size_t steps_done, const std::string& last_step, const PlanContext&,
                     Kept kept)>
      progress;
  // Real runs only: a step failed for good (the plan is about to fail): the journal says so
  // before failover_failed is recorded, so that a daemon that finds it left behind holds the
  // component rather than resuming it. Called like `progress`, with the failed step and why.
  std::function<void(const std::string& failed_step, const std::string& why, const PlanContext&,
                     Kept kept)>
      failing;
  using Written = std::function<void()>;
  // Real runs only: called when the plan has ended (completed or failed, not interrupted),
  // lock still held; it calls `written` on the loop once it has tidied up (the journal
  // removed), and only then is `done` called and the lock released.
  std::function<void(Written written)> tidy;
  // Real runs only: asked once the component's lock is held, before anything is recorded or
  // done. A non-empty answer refuses the run (the lock is released at once): what the caller
  // read before it held the lock (a plan's journal) may have changed meanwhile.
  std::function<std::string()> admit;
  // Real runs only, once every step has passed and before failover_completed is recorded
  // (lock still held): the role change it makes true (the cluster state's compare-and-set).
  // It calls `committed` on the loop with fields for failover_completed and, when the roles
  // could not be moved, why.
  using Committed = std::function<void(std::string error, nlohmann::json fields)>;
  std::function<void(const PlanContext&, Committed committed)> commit;
};

struct RunReport {
  std::string plan;  // the plan's name
  bool followed = false;  // it followed a store's own switch (PlanContext::switched)
  bool resumed = false;   // it continued an interrupted run (RunRequest::first_step > 0)
  bool ok = false;
  bool dry_run = false;
  std::string failed_step;
  std::string reason;
  Duration duration{};
  std::optional<Duration> rto;
  bool interrupted = false;  // stopped by interrupt(), not finished: its journal stays
  // A step failed for good but that could not be journaled (RunRequest::failing): reported
  // as interrupted; the caller must not let it be resumed by itself.
  bool failure_unrecorded = false;
  // Every step ran but the roles could not be moved (RunRequest::commit failed): its journal
  // stays (a leader that takes it up only has the commit left to do); the caller holds the
  // component rather than run the plan again from the top.
  bool roles_unmoved = false;
};

class FailoverRunner {
 public:
  // Records one event (queues it for the event log).
  using Record = std::function<void(const std::string& type, const std::string& component,
                                    const std::string& reason, nlohmann::json fields)>;
  // Runs its argument on the loop once every event recorded so far is on disk (or the log
  // gave up waiting for a failing disk). None: at once.
  using Durable = std::function<void(std::function<void()>)>;

  FailoverRunner(ActionEnv& env, coord::Coordinator& coordinator, Record record,
                 Durable durable = {});
  ~FailoverRunner();

  // Starts the plan unless one already runs for the component or the coordinator refuses;
  // returns false then and records why (failover_skipped), or, given `refused`, leaves the
  // recording to the caller and says why there. A dry run takes no lock: it changes nothing,
  // so it never holds a real failover back. `done` runs on the loop when the plan ends.
  bool start(RunRequest request, std::function<void(const RunReport&)> done,
             std::string* refused = nullptr);
  bool running(const std::string& component) const;
  // Its steps are over and it only tidies up (its journal) before letting the lock go.
  bool ending(const std::string& component) const;
  bool idle() const { return runs_.empty(); }
  // Stops every running plan where it stands (the daemon's stop timeout passed): each
  // records failover_interrupted and ends with `interrupted` set; no step of it acts after
  // this. A plan whose outcome is already recorded is left to finish its tidy-up (ending());
  // a lock under a journal write still queued is let go once that write lands.
  void interrupt(const std::string& why);

  struct Run;

 private:
  ActionEnv& env_;
  coord::Coordinator& coordinator_;
  Record record_;
  Durable durable_;
  std::map<std::string, std::shared_ptr<Run>> runs_;
};

}  // namespace hftguard::actions

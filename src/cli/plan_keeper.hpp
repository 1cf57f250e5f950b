#pragma once
// Private to the CLI: what keeps the daemon's failovers from being lost. A plan that cannot
// start yet (an operator's `hftguard failover` holds the lock, a plan already runs) is
// deferred and started when it can, within a bound, or recorded as failed. Every real run
// keeps a journal of its progress; a journal found at start-up is a plan that was
// interrupted, and holds the component's automation until an operator resumes or abandons
// it. On SIGTERM, a running plan is given its deadline to finish.

#include <functional>
#include <map>
#include <set>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "hftguard/actions/plan_journal.hpp"
#include "hftguard/actions/runner.hpp"
#include "hftguard/config/config.hpp"
#include "hftguard/coord/coordinator.hpp"
#include "hftguard/decide/decider.hpp"
#include "hftguard/net/worker_pool.hpp"

#include "plan_store.hpp"

namespace hftguard::cli {

using config::planBudget;

// The journal as a run's progress leaves it: `steps_done`, the last step passed, and what
// the context holds now (the evidence later steps rely on, the roles' epoch and members).
void journalProgress(actions::PlanJournal& j, std::size_t steps_done, const std::string& last_step,
                     const actions::PlanContext& ctx);

// Writes the plan's journal at each progress point, on `disk` (one thread: writes stay in
// order); logs (never stops the plan) on failure.
decltype(actions::RunRequest::progress) journalTo(std::string lock_dir,
                                                 const actions::RunRequest& request,
                                                 net::WorkerPool& disk);
// Removes the plan's journal on `disk` when it has ended (RunRequest::tidy).
decltype(actions::RunRequest::tidy) journalRemover(std::string lock_dir, std::string component,
                                                   net::WorkerPool& disk);

// For RunRequest::admit, asked once the lock is held. A run from the top is admitted only
// when the component has no journal: one there now, with the lock free, is a plan that was
// interrupted (its owner died) and must be resumed or abandoned, never run again.
std::function<std::string()> admitWithoutJournal(std::string lock_dir, std::string component);
// `--resume` is admitted only while the journal is still the one it read before it held the
// lock: another resume or an abandon may have finished it meanwhile.
std::function<std::string()> admitSameJournal(std::string lock_dir, actions::PlanJournal read);

class PlanKeeper {
 public:
  using Record = std::function<void(const std::string& type, const std::string& component,
                                    const std::string& reason, nlohmann::json fields)>;

  // `etcd`: journals are kept in the cluster (plan_store.hpp), else beside the locks.
  PlanKeeper(boost::asio::io_context& io, const Clock& clock, const config::Config& cfg,
             actions::FailoverRunner& runner, coord::Coordinator& coordinator,
             decide::Decider& decider, std::string lock_dir, Record record,
             coord::EtcdCoordinator* etcd = nullptr);

  // etcd: the leader that finds a plan its predecessor left asks this (set by the daemon)
  // what to do with it - resume(), drop() or holdInterrupted() - once for each finding.
  void setResumer(std::function<void(const actions::PlanJournal&)> resumer) {
    resumer_ = std::move(resumer);
  }
  // Re-verifies the interrupted plan's remaining steps (a dry run) and, if they hold, runs
  // them as a continuation of `j` (admitted only while its journal is still `j`).
  void resume(actions::RunRequest request, const actions::PlanJournal& j);
  // Its failover needs nothing more (the roles show it done): the journal goes, recorded.
  void drop(const actions::PlanJournal& j, const std::string& why);
  // Not resumable without an operator: recorded (failover_interrupted), automation held.
  void holdInterrupted(const std::string& component, const std::string& why);

  // At start-up: each journal left by a plan that never finished is recorded
  // (failover_interrupted) and holds that component's automation.
  void recoverInterrupted();
  // Runs the plan now, or defers it (failover_deferred) until it can start.
  void start(actions::RunRequest request);
  // An operator's plan (a switchover, its checks): now or not at all - false with why when
  // anything runs, waits or is held for the component, or the lock is taken. `then` once it
  // has ended (after the keeper's own handling of the outcome).
  bool startNow(actions::RunRequest request, std::function<void(const actions::RunReport&)> then,
                std::string* refused);
  // Every second: a held component whose journal is gone (resumed to the end, or abandoned)
  // is automated again; a journal left by another process's plan holds its component.
  void tick();
  // SIGTERM: no new plan starts; a running one gets until its budget runs out (at most
  // `limit`, when not zero), then is interrupted. `then(outcome)` once nothing runs.
  void stop(Duration limit, std::function<void(const std::string& outcome)> then);
  bool held(const std::string& component) const { return held_.count(component) > 0; }
  // What keeps a reload from applying now ("" nothing): a plan running, deferred, or taken
  // over from another leader and not yet settled. A held component does not: it stays held.
  std::string busyWith() const;
  // A reload applied: `cfg` from now on (the one before outlives every plan it started).
  void rebind(const config::Config& cfg) { cfg_ = &cfg; }

 private:
  struct Deferred {
    actions::RunRequest request;
    SteadyTime since{};
    SteadyTime until{};
    std::string why;
    // Another process's plan for the component was seen (its journal) while this one
    // waited: that plan acted, so this one must not run again from the top when the lock
    // frees.
    bool overtaken = false;
  };
  // A journal without a live plan behind it: recorded, and the component held.
  void checkJournal(const std::string& component);
  void hold(const std::string& component, const std::optional<actions::PlanJournal>& j,
            const std::string& what);
  bool tryStart(actions::RunRequest request, std::string* refused,
                const actions::PlanJournal* taken_over = nullptr);
  void retryDeferred();
  std::string stale(const std::string& component, const Deferred& d, bool journal) const;
  void armRetry();
  void ended(const std::string& component, const actions::RunReport& report);
  // A plan taken over whose remaining steps did not re-verify: true when it is looked at
  // again later (recorded), false when its retries are used up (the caller holds it).
  bool scheduleReverify(const actions::PlanJournal& j, const actions::RunReport& checked);
  // SIGTERM: once nothing runs, the stop goes on.
  void stoppedIfIdle();
  void giveUp(const std::string& component, const Deferred& d, const std::string& why);
  static bool rolesMoved(const std::string& why);
  void skipMoved(const std::string& component, const actions::RunRequest& request,
                 const std::string& why);

  boost::asio::io_context& io_;
  const Clock& clock_;
  const config::Config* cfg_;  // the daemon's, replaced by a reload (rebind)
  actions::FailoverRunner& runner_;
  coord::Coordinator& coordinator_;
  decide::Decider& decider_;
  std::string lock_dir_;
  Record record_;
  struct Reverify {
    int used = 0;
    SteadyTime first{};  // the first re-verification that failed
    SteadyTime next{};
    std::string journal;  // which plan: its start and node
  };
  std::map<std::string, Reverify> reverify_;  // by component: a takeover that did not re-verify
  std::set<std::string> takeovers_;           // components whose running plan was taken over
  std::map<std::string, Deferred> deferred_;
  std::map<std::string, std::function<void(const actions::RunReport&)>> then_;  // startNow's
  std::set<std::string> soft_;  // startNow's dry runs and check plans running now
  std::map<std::string, SteadyTime> running_until_;  // component -> its plan's deadline
  std::set<std::string> held_;
  std::set<std::string> resuming_;  // a plan left by the previous leader, being taken up
  std::function<void(const actions::PlanJournal&)> resumer_;
  boost::asio::steady_timer retry_;
  boost::asio::steady_timer stop_timer_;
  net::WorkerPool disk_;  // the journal's writes, off the loop
  std::unique_ptr<PlanStore> store_;
  bool stopping_ = false;
  std::string stop_outcome_;
  std::function<void(const std::string&)> stopped_;
};

}  // namespace hftguard::cli

#pragma once
// Runs every check on its own schedule on one event loop: absolute deadlines (no drift),
// optional jitter, a timeout enforced by a timer (the result is `timeout` at the deadline
// even if the library underneath never returns), never two runs of one check at once: a
// slot that comes due while the previous run is open waits for it instead of being skipped.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "hftguard/config/config.hpp"
#include "hftguard/probes/probe.hpp"
#include "hftguard/probes/result.hpp"

namespace hftguard::probes {

struct CheckRef {
  const config::ComponentConfig* component;
  const config::CheckConfig* check;
};

// Every check of every component, in config order.
std::vector<CheckRef> allChecks(const config::Config& cfg);

// One check: its probe and its deadline. Usable alone (`hftguard probe`) or scheduled.
class CheckRunner {
 public:
  using Done = std::function<void(const ProbeResult&)>;

  // `own_deadline`: the runner arms a timer per run and ends it as `timeout` there. The
  // scheduler passes false and calls expire() from its own timer instead: one timer for
  // every check, as for the due times (no timer set and cancelled per run).
  CheckRunner(ProbeEnv& env, CheckRef ref, bool own_deadline = true);
  ~CheckRunner();
  CheckRunner(const CheckRunner&) = delete;
  CheckRunner& operator=(const CheckRunner&) = delete;

  // Starts one run that was due at `scheduled`. Returns false (and does nothing) while the
  // previous run is still open.
  bool run(SteadyTime scheduled, Done done);
  bool busy() const;
  // The run last started (0: none yet); expire(g) ends run g as `timeout` if still open.
  std::uint64_t generation() const;
  void expire(std::uint64_t generation);
  // Ends an open run without a result.
  void abandon();
  const CheckRef& ref() const { return ref_; }
  // The same check addressing another member (the roles moved): an open run is abandoned,
  // the next run uses a probe made for `ref`.
  void retarget(CheckRef ref);
  // The same check in a reloaded config, equal in content: nothing changes but where `ref`
  // points (an open run goes on). The probe made from the old one stays: that config must
  // outlive this runner.
  void rebind(CheckRef ref);

 private:
  struct State;
  CheckRef ref_;
  std::shared_ptr<State> state_;
};

struct SchedulerStats {
  std::uint64_t runs = 0;
  std::uint64_t waited_busy = 0;     // due while the previous run was open: started after it
  std::uint64_t skipped_busy = 0;    // due while a run was open and another already waited
  std::uint64_t skipped_behind = 0;  // slots missed because the loop fell behind
};

class Scheduler {
 public:
  using Sink = std::function<void(const ProbeResult&)>;

  // `jitter_seed` makes the jitter reproducible in tests.
  Scheduler(ProbeEnv& env, const config::Config& cfg, Sink sink, std::uint64_t jitter_seed = 0);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void start();  // every check's first run is due after a random phase within one interval
  void stop();   // cancels timers and abandons open runs
  // The roles moved: the component's checks address other members from their next run.
  // `checks` in the order of the component's checks (ComponentConfig::checksFor); a null
  // leaves that check as it was.
  void retarget(const config::ComponentConfig& component,
                const std::vector<const config::CheckConfig*>& checks);
  // A reload: `refs` (every check of `next`, each in the variant its roles want) from now on.
  // A check equal but for where it is written keeps its slot and its open run; a changed one
  // runs its new probe from its next slot (a new interval counts from there); a new one's
  // first run is within one interval; a removed one never runs again. No round of an
  // unchanged check is missed. The config before must outlive the scheduler.
  void reconfigure(const config::Config& next, const std::vector<CheckRef>& refs);
  const SchedulerStats& stats() const;
  std::size_t size() const;  // the checks it runs

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hftguard::probes

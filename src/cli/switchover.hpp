#pragma once
// Private to the CLI: a switchover (`hftguard switchover`, POST /switchover) - the runbook's
// planned failover (3.1) as one operation of the daemon that acts (the leader with etcd):
// the standby checked ready and the component healthy, the pre-checks plan, automation held
// for the component, the switchover plan between the roles (drain, final sync, promote,
// infrastructure; the roles move when it completes), the post-checks plan, the component
// healthy on its new primary, automation released. Each check's result is an event
// (switchover_check, and the check plans' step_* events); a refusal names what failed.

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "hftguard/actions/runner.hpp"
#include "hftguard/config/config.hpp"
#include "hftguard/core/clock.hpp"
#include "hftguard/decide/decision.hpp"

namespace boost::asio {
class io_context;
}

namespace hftguard::cli {

struct SwitchoverRequest {
  std::string component;
  std::string candidate;  // "" the roles' candidate
  bool dry_run = false;
  std::string owner;
  std::string reason;
};

class Switchover {
 public:
  using Record = std::function<std::string(const std::string& type, const std::string& component,
                                           const std::string& reason, nlohmann::json fields)>;
  using Then = std::function<void(const actions::RunReport&)>;
  struct Hooks {
    Record record;  // returns the event's id
    // The member a switchover of the component moves to ("" the candidate): its name, or ""
    // with why not in *why.
    std::function<std::string(const config::ComponentConfig&, const std::string& candidate,
                              std::string* why)>
        target;
    // The target's readiness from its standby checks as last probed: "" ready, else why not.
    std::function<std::string(const config::ComponentConfig&, const std::string& member)> ready;
    // Starts `plan` now between `from` and `to` (`move`: the roles move when it completes);
    // "" started (then `then` once it has ended), else why it could not start.
    std::function<std::string(const config::ComponentConfig&, const config::PlanConfig&,
                              const std::string& from, const std::string& to, bool move,
                              bool dry_run, const std::string& trigger, Then then)>
        run;
    std::function<std::string(const config::ComponentConfig&)> primary;  // the roles' now
    std::function<decide::Health(const std::string& component)> health;
    // Every check of the (new) primary has answered ok since the roles moved: the health
    // above is then about it, not counters carried over from the member before.
    std::function<bool(const config::ComponentConfig&)> answered;
    std::function<void(const std::string& component, const std::string& why)> hold;
    // `reconsider`: the roles did not move and the daemon goes on - a failure the hold
    // dropped may be decided now.
    std::function<void(const std::string& component, bool reconsider)> release;
  };

  Switchover(boost::asio::io_context& io, const Clock& clock, Hooks hooks);
  ~Switchover();

  // Starts one (the rest is events): "" and its switchover_started id in *id, or why not -
  // another runs, the component has no switchover, no target - answered at once.
  std::string start(const config::Config& cfg, const SwitchoverRequest& q, std::string* id);
  bool running() const;
  // The daemon stops: a switchover in flight ends as switchover_failed (its plan, if one
  // runs, is the keeper's to finish or interrupt) and its hold is released.
  void stop(const std::string& why);

 private:
  struct Run;
  void step(const std::shared_ptr<Run>& run);
  void checks(const std::shared_ptr<Run>& run, const config::PlanConfig* plan,
              const std::string& what, const std::string& failed_type);
  void waitHealthy(const std::shared_ptr<Run>& run);
  // `reconsider` false: the daemon stops - nothing is decided on frozen health.
  void end(const std::shared_ptr<Run>& run, const std::string& type, const std::string& reason,
           nlohmann::json fields, bool reconsider = true);

  boost::asio::io_context& io_;
  const Clock& clock_;
  Hooks hooks_;
  std::shared_ptr<Run> run_;
};

}  // namespace hftguard::cli

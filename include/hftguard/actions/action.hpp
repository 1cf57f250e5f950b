#pragma once
// One interface for every action kind. A kind only knows how to do its one step and how to
// verify it; the FailoverRunner owns deadlines, retries, backoff and recording.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hftguard/config/config.hpp"
#include "hftguard/core/clock.hpp"

namespace boost::asio {
class io_context;
}

namespace hftguard::net {
class HttpClient;
class WorkerPool;
}  // namespace hftguard::net

namespace hftguard::actions {

// What the placeholders of a step resolve to when its plan runs.
struct PlanContext {
  std::string component;
  std::string node;
  std::string old_primary;
  std::string new_primary;
  std::string fencing_token;
  std::string timestamp;  // RFC 3339, when the plan started
  std::string reason;
  // With roles tracked (the component has members): the epoch this failover establishes
  // ({epoch}; 0 when roles are not tracked) and the members' values by role,
  // "old_primary.api" -> "127.0.0.1:19080" ({old_primary.api}).
  std::uint64_t epoch = 0;
  std::map<std::string, std::string> members = {};
  // The store's own HA already switched old_primary -> new_primary (Sentinel announced it):
  // the plan follows that switch rather than asking for one.
  bool switched = false;
  // What the plan's fence steps found so far: a fence that succeeded proves the old primary
  // cannot take writes; one that failed (any part) blocks every later promotion.
  bool old_primary_fenced = false;
  bool fence_failed = false;
  // Evidence that the old primary's host fenced itself (its daemon, cut off from etcd, ran
  // the component's self_fence plan before its lease expired, and the lease is gone): a
  // fence's stop that gets no answer then counts as done (docs/safety.md). "" none.
  std::string self_fenced = {};
};

// "{component}" and the other placeholders filled in; other braces are left alone.
std::string fill(std::string_view text, const PlanContext& ctx);

struct ActionResult {
  bool ok = false;
  std::string detail;  // one line: what was done and verified, or why it failed
  // What the step found out for the steps after it: {old_primary} / {new_primary} from now
  // on (a Sentinel's elected master, a Patroni leader).
  std::optional<std::string> old_primary = {};
  std::optional<std::string> new_primary = {};
  // Set by a fence: true when every part succeeded, false when any failed.
  std::optional<bool> fenced = {};
  // The step's target refused the connection (its host answered: nothing listens), which
  // a fence may count as proof that it is not serving; a timeout never is.
  bool refused = false;
  // No answer at all (timeout, no route, refused): nothing was heard from the target.
  bool unanswered = false;

  static ActionResult success(std::string d) { return {true, std::move(d)}; }
  static ActionResult failure(std::string d) { return {false, std::move(d)}; }
};

struct ActionEnv {
  boost::asio::io_context& io;
  net::HttpClient& http;
  net::WorkerPool& workers;
  const Clock& clock;
};

class Action {
 public:
  using Done = std::function<void(ActionResult)>;

  virtual ~Action() = default;
  // What the step will do, placeholders filled: printed by dry runs, recorded in events.
  virtual std::string describe() const = 0;
  // The step's preconditions, evaluated for real and changing nothing (dry run).
  virtual void check(Done done) { done(ActionResult::success("nothing to check")); }
  // Does the step and verifies it; `done` once, on the loop thread.
  virtual void run(Done done) = 0;
  // The step's deadline passed: drop what is in flight.
  virtual void cancel() {}
  // What a waiting step saw last ("pg2 is replica, starting"), for the timeout's message.
  virtual std::string lastSeen() const { return {}; }
};

// Whether this build has an action of that kind (every kind the config accepts should).
bool runnable(std::string_view kind);

// The action of a step with its placeholders filled, or null for an unknown kind.
std::unique_ptr<Action> makeAction(const config::StepConfig& step, const PlanContext& ctx,
                                   ActionEnv& env);

}  // namespace hftguard::actions

#pragma once
// Private to the CLI: turns what the decider and the runner say into event-log entries
// (id, timestamp, node), queued for the event log's writer thread; what must wait for the
// disk (the runner's next step, an alert) waits through afterDurable() and the observer.

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hftguard/config/config.hpp"
#include "hftguard/coord/coordinator.hpp"
#include "hftguard/core/clock.hpp"
#include "hftguard/events/event_log.hpp"

namespace hftguard::cli {

class Recorder {
 public:
  // The log must have an io_context: observers and afterDurable() run on it.
  Recorder(events::EventLog& log, std::string node, const Clock& clock)
      : log_(log), node_(std::move(node)), clock_(clock) {
    log_.onHealth([this](const events::EventLog::Health& h) { onHealth(h); });
  }

  events::Event record(const std::string& type, const std::string& component,
                       const std::string& reason, nlohmann::json fields) {
    events::Event e;
    e.at = clock_.wallNow();
    e.id = ids_.next(e.at);
    e.node = node_;
    e.component = component;
    e.type = type;
    e.reason = reason;
    e.fields = std::move(fields);
    append(e);
    return e;
  }

  // Queues an event for the writer thread; the observer sees it once it is on disk (or once
  // the log gave up waiting for a failing disk: an alert is not held back by a full disk).
  void append(const events::Event& e) {
    const std::uint64_t seq = log_.append(e);
    log_.whenDurable(seq, [this, e](bool) {
      if (observer_) observer_(e);
    });
  }
  // Runs `then` on the loop once every event recorded so far is on disk, or the log gave up
  // waiting (EventLog::Options::durable_wait; at once on a disk known to be failing).
  void afterDurable(std::function<void()> then) {
    log_.whenDurable(log_.lastSequence(), [then = std::move(then)](bool) { then(); });
  }
  // Sees every event written through this recorder: how the alerts learn of them.
  void observe(std::function<void(const events::Event&)> observer) {
    observer_ = std::move(observer);
  }

  std::string nextId(WallTime at) { return ids_.next(at); }
  events::EventLog& log() { return log_; }

 private:
  // A failing disk is itself an event: queued behind the others (it reaches the file once
  // the disk recovers) and shown to the observer at once, so it can page.
  void onHealth(const events::EventLog::Health& h) {
    nlohmann::json f = {{"path", log_.path()},
                        {"queued", h.queued},
                        {"failed_writes", h.failed_writes},
                        {"dropped", h.dropped},
                        {"written_late", h.written_late}};
    if (h.failing) {
      f["error"] = h.error;
      record("event_log_degraded", "",
             fmt::format("event log {}: write failed ({}); {} events kept in memory and retried; "
                         "failover goes on without waiting for the disk",
                         log_.path(), h.error, h.queued),
             std::move(f));
      return;
    }
    f["failing_ms"] = std::chrono::duration<double, std::milli>(h.failing_for).count();
    record("event_log_recovered", "",
           fmt::format("event log {}: writing again after {:.1f}s ({} failed writes)", log_.path(),
                       std::chrono::duration<double>(h.failing_for).count(), h.failed_writes),
           std::move(f));
  }

  events::EventLog& log_;
  std::string node_;
  const Clock& clock_;
  events::EventIds ids_;
  std::function<void(const events::Event&)> observer_;
};

// Per-component locks (and plan journals) beside the maintenance file, in the state directory.
inline std::string lockDir(const config::Config& cfg) {
  const auto slash = cfg.maintenance_path.rfind('/');
  return (slash == std::string::npos ? std::string(".") : cfg.maintenance_path.substr(0, slash)) +
         "/locks";
}

// The host's coordinator, for a command that runs a plan itself (`hftguard failover`).
// With etcd the leader daemon alone runs plans: such a command is refused rather than run
// beside it, which could leave two hosts acting at once. Throws std::runtime_error.
inline std::unique_ptr<coord::Coordinator> localCoordinator(const config::Config& cfg) {
  if (cfg.coordination.type != "local") {
    throw std::runtime_error(
        "with coordination: " + cfg.coordination.type +
        " the leading daemon runs every plan of the cluster; this command runs plans on its own "
        "and would bypass the leader - stop the daemons or use `coordination: local`");
  }
  std::vector<std::string> names;
  for (const auto& c : cfg.components) names.push_back(c.name);
  return coord::makeLocalCoordinator(lockDir(cfg), names);
}

}  // namespace hftguard::cli

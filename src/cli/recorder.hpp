#pragma once
// Private to the CLI: turns what the decider and the runner say into event-log entries
// (id, timestamp, node), written before the caller goes on.

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "hftguard/config/config.hpp"
#include "hftguard/coord/coordinator.hpp"
#include "hftguard/core/clock.hpp"
#include "hftguard/events/event_log.hpp"

namespace hftguard::cli {

class Recorder {
 public:
  Recorder(events::EventLog& log, std::string node, const Clock& clock)
      : log_(log), node_(std::move(node)), clock_(clock) {}

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

  // Writes an event (on disk before this returns), then shows it to the observer.
  void append(const events::Event& e) {
    log_.append(e);
    if (observer_) observer_(e);
  }
  // Sees every event written through this recorder: how the alerts learn of them.
  void observe(std::function<void(const events::Event&)> observer) {
    observer_ = std::move(observer);
  }

  std::string nextId(WallTime at) { return ids_.next(at); }
  events::EventLog& log() { return log_; }

 private:
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

// The coordinator the config asks for. Only `local` exists so far: a config that asks for
// etcd (leader election across hosts) is refused rather than silently run without it, which
// could leave two hosts acting at once. Throws std::runtime_error.
inline std::unique_ptr<coord::Coordinator> localCoordinator(const config::Config& cfg) {
  if (cfg.coordination.type != "local") {
    throw std::runtime_error("coordination type '" + cfg.coordination.type +
                             "' is not available in this build; use type: local");
  }
  std::vector<std::string> names;
  for (const auto& c : cfg.components) names.push_back(c.name);
  return coord::makeLocalCoordinator(lockDir(cfg), names);
}

}  // namespace hftguard::cli

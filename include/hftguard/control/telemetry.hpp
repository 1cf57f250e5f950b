#pragma once
// What the daemon exports at /metrics, fed one way: every probe result and every event
// recorded (on the loop), each event-log batch write (on its writer thread), and at each
// scrape the state the daemon holds (health, roles, leadership, maintenance). The names are
// docs/operations.md's table and what grafana/hftguard.json queries.

#include <string>

#include "hftguard/control/metrics.hpp"
#include "hftguard/core/clock.hpp"

namespace hftguard::probes {
struct ProbeResult;
}
namespace hftguard::events {
struct Event;
}

namespace hftguard::control {

class Telemetry {
 public:
  explicit Telemetry(const std::string& version);

  void onProbe(const probes::ProbeResult& r);
  void onEvent(const events::Event& e);
  void onEventLogWrite(Duration took, bool ok);
  void onControlRequest(const std::string& path, int status);

  // The state at scrape time (each family replaced whole).
  struct ComponentState {
    std::string name;
    std::string health;  // unknown, healthy, suspect, failed, recovering
    bool maintenance = false;
    double rto_target_seconds = 0;
    // Roles of a component with members; epoch < 0: none tracked.
    long long epoch = -1;
    std::string primary;
    std::vector<std::string> standbys, fenced;
  };
  struct State {
    std::vector<ComponentState> components;
    bool leading = true;  // coordination local: this daemon always acts
    bool coordinated = false;
    bool paused = false;
    double event_log_queued = 0;
    double event_log_dropped = 0;
    double scheduler_runs = 0, scheduler_skipped_busy = 0, scheduler_skipped_behind = 0;
  };
  std::string render(const State& state);

  Metrics& metrics() { return metrics_; }

 private:
  Metrics metrics_;
};

}  // namespace hftguard::control

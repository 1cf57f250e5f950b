#include "hftguard/control/telemetry.hpp"

#include <chrono>

#include "hftguard/events/event.hpp"
#include "hftguard/events/fields.hpp"
#include "hftguard/probes/result.hpp"

namespace hftguard::control {
namespace {

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

using events::flagField;
using events::numberField;
using events::textField;

// RTO and failover durations: a trading site's target is tens of seconds.
std::vector<double> rtoBuckets() { return {1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 300}; }

}  // namespace

Telemetry::Telemetry(const std::string& version) {
  Metrics& m = metrics_;
  m.gauge("hftguard_build_info", "Always 1; the version of the running daemon as a label.");
  m.set("hftguard_build_info", {{"version", version}}, 1);
  m.gauge("hftguard_start_time_seconds", "When the daemon started, in seconds since the epoch.");
  m.set("hftguard_start_time_seconds", {},
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  m.gauge("hftguard_check_up", "1 when the check's last result was ok, 0 otherwise.");
  m.counter("hftguard_check_results_total", "Probe results per check and status.");
  m.histogram("hftguard_check_latency_seconds", "How long one probe run took.", latencyBuckets());
  m.histogram("hftguard_scheduler_skew_seconds",
              "How late a probe run started after it was due (the event loop's lag).",
              latencyBuckets());
  m.counter("hftguard_scheduler_runs_total", "Probe runs started.");
  m.counter("hftguard_scheduler_skipped_total",
            "Probe slots not run: busy (the previous run still open) or behind (the loop fell "
            "behind).");
  m.gauge("hftguard_component_health",
          "1 for the component's current health state (unknown, healthy, suspect, failed, "
          "recovering), 0 for the others.");
  m.gauge("hftguard_component_maintenance", "1 while the component is in maintenance.");
  m.gauge("hftguard_member_role", "1 for each member's role (primary, standby, fenced).");
  m.gauge("hftguard_epoch", "The component's failover epoch: it grows by one per failover.");
  m.gauge("hftguard_rto_target_seconds", "The component's recovery time objective.");
  m.counter("hftguard_failovers_total",
            "Failover plans by outcome: completed, failed, interrupted, skipped.");
  m.histogram("hftguard_failover_rto_seconds",
              "Recovery time of each completed failover, from the first failed sample.",
              rtoBuckets());
  m.counter("hftguard_failover_rto_missed_total", "Completed failovers that missed rto_target.");
  m.counter("hftguard_switchovers_total",
            "Switchovers per outcome: completed, failed, refused (not counted as failovers).");
  m.histogram("hftguard_plan_step_duration_seconds", "How long each plan step took, done.",
              latencyBuckets());
  m.counter("hftguard_plan_step_failures_total", "Plan step attempts that failed.");
  m.counter("hftguard_alerts_total", "Alerts per channel and outcome: sent, failed, superseded.");
  m.histogram("hftguard_alert_latency_seconds", "From queueing an alert to its channel taking it.",
              latencyBuckets());
  m.counter("hftguard_events_total", "Events recorded by this daemon, per type.");
  m.histogram("hftguard_event_log_write_seconds",
              "One batch of events: write() and fsync() of the event log.", latencyBuckets());
  m.counter("hftguard_event_log_write_errors_total", "Batch writes of the event log that failed.");
  m.gauge("hftguard_event_log_queued", "Events not yet on disk.");
  m.counter("hftguard_event_log_dropped_total", "Events dropped: the queue was full.");
  m.gauge("hftguard_leader", "1 while this daemon leads its cluster (always 1 with local "
                             "coordination).");
  m.gauge("hftguard_paused", "1 while automatic failover is paused (cluster-wide with etcd).");
  m.counter("hftguard_control_requests_total", "Control API requests per endpoint and status.");
}

void Telemetry::onProbe(const probes::ProbeResult& r) {
  const Labels check{{"component", r.component}, {"check", r.check}};
  metrics_.set("hftguard_check_up", check, r.ok() ? 1 : 0);
  metrics_.add("hftguard_check_results_total",
               {{"component", r.component}, {"check", r.check},
                {"status", std::string(probes::toString(r.status))}});
  metrics_.observe("hftguard_check_latency_seconds", check, seconds(r.latency));
  if (r.started >= r.scheduled) {
    metrics_.observe("hftguard_scheduler_skew_seconds", {}, seconds(r.started - r.scheduled));
  }
}

void Telemetry::onEvent(const events::Event& e) {
  const nlohmann::json& f = e.fields;
  metrics_.add("hftguard_events_total", {{"type", e.type}});
  const bool self_fence = flagField(f, "self_fence");  // elsewhere (quorum_reached) it is a text
  const bool dry_run = flagField(f, "dry_run");  // a check of a plan, not a failover
  // A switchover's plan run is a planned move, not a failover: counted as a switchover (its
  // own events), never in the failovers or the RTO against the target.
  const bool planned = f.contains("switchover");
  if (!dry_run && (e.type == "switchover_completed" || e.type == "switchover_failed" ||
                   e.type == "switchover_refused")) {
    metrics_.add("hftguard_switchovers_total",
                 {{"component", e.component}, {"outcome", e.type.substr(11)}});
  }
  if (!dry_run && !planned &&
      (e.type == "failover_completed" || e.type == "failover_failed" ||
       e.type == "failover_interrupted" || e.type == "failover_skipped")) {
    metrics_.add("hftguard_failovers_total",
                 {{"component", e.component}, {"outcome", e.type.substr(9)}});
  }
  if (e.type == "failover_completed" && !planned && f.contains("rto_ms")) {
    metrics_.observe("hftguard_failover_rto_seconds", {{"component", e.component}},
                     numberField(f, "rto_ms") / 1000);
    if (f.contains("rto_met") && f["rto_met"].is_boolean() && !f["rto_met"].get<bool>()) {
      metrics_.add("hftguard_failover_rto_missed_total", {{"component", e.component}});
    }
  }
  if (e.type == "step_done" && !self_fence) {
    metrics_.observe("hftguard_plan_step_duration_seconds",
                     {{"component", e.component}, {"step", textField(f, "step")},
                      {"action", textField(f, "action")}},
                     numberField(f, "duration_ms") / 1000);
  }
  if (e.type == "step_failed") {
    metrics_.add("hftguard_plan_step_failures_total",
                 {{"component", e.component}, {"step", textField(f, "step")},
                  {"action", textField(f, "action")}});
  }
  if (e.type == "alert_sent" || e.type == "alert_failed" || e.type == "alert_superseded") {
    const std::string channel = textField(f, "channel");
    metrics_.add("hftguard_alerts_total", {{"channel", channel}, {"outcome", e.type.substr(6)}});
    if (e.type == "alert_sent") {
      metrics_.observe("hftguard_alert_latency_seconds", {{"channel", channel}},
                       numberField(f, "latency_ms") / 1000);
    }
  }
}

void Telemetry::onEventLogWrite(Duration took, bool ok) {
  metrics_.observe("hftguard_event_log_write_seconds", {}, seconds(took));
  if (!ok) metrics_.add("hftguard_event_log_write_errors_total", {});
}

void Telemetry::onControlRequest(const std::string& path, int status) {
  metrics_.add("hftguard_control_requests_total",
               {{"path", path.empty() ? "other" : path}, {"code", std::to_string(status)}});
}

std::string Telemetry::render(const State& s) {
  Metrics& m = metrics_;
  for (const char* family : {"hftguard_component_health", "hftguard_component_maintenance",
                             "hftguard_member_role", "hftguard_epoch",
                             "hftguard_rto_target_seconds"}) {
    m.clear(family);
  }
  for (const auto& c : s.components) {
    for (const char* state : {"unknown", "healthy", "suspect", "failed", "recovering"}) {
      m.set("hftguard_component_health", {{"component", c.name}, {"state", state}},
            c.health == state ? 1 : 0);
    }
    m.set("hftguard_component_maintenance", {{"component", c.name}}, c.maintenance ? 1 : 0);
    if (c.rto_target_seconds > 0) {
      m.set("hftguard_rto_target_seconds", {{"component", c.name}}, c.rto_target_seconds);
    }
    if (c.epoch < 0) continue;
    m.set("hftguard_epoch", {{"component", c.name}}, static_cast<double>(c.epoch));
    auto role = [&](const std::string& member, const char* r) {
      m.set("hftguard_member_role", {{"component", c.name}, {"member", member}, {"role", r}}, 1);
    };
    if (!c.primary.empty()) role(c.primary, "primary");
    for (const auto& x : c.standbys) role(x, "standby");
    for (const auto& x : c.fenced) role(x, "fenced");
  }
  m.set("hftguard_leader", {}, s.leading ? 1 : 0);
  m.set("hftguard_paused", {}, s.paused ? 1 : 0);
  m.set("hftguard_event_log_queued", {}, s.event_log_queued);
  m.total("hftguard_event_log_dropped_total", {}, s.event_log_dropped);
  m.total("hftguard_scheduler_runs_total", {}, s.scheduler_runs);
  m.total("hftguard_scheduler_skipped_total", {{"why", "busy"}}, s.scheduler_skipped_busy);
  m.total("hftguard_scheduler_skipped_total", {{"why", "behind"}}, s.scheduler_skipped_behind);
  return m.render();
}

}  // namespace hftguard::control

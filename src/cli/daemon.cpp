#include "daemon.hpp"

#include <csignal>
#include <random>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "hftguard/actions/runner.hpp"
#include "hftguard/alerts/dispatcher.hpp"
#include "hftguard/alerts/policy.hpp"
#include "hftguard/control/maintenance_file.hpp"
#include "hftguard/decide/decider.hpp"
#include "hftguard/events/event_log.hpp"
#include "hftguard/events/from_decision.hpp"
#include "hftguard/probes/scheduler.hpp"
#include "hftguard/probes/sentinel_watch.hpp"
#include "hftguard/version.hpp"

#include "plan_keeper.hpp"
#include "recorder.hpp"
#include "runtime.hpp"

namespace hftguard::cli {
namespace {

using decide::Decision;

void logDecision(const Decision& d) {
  switch (d.kind) {
    case Decision::Kind::FailoverTriggered:
      spdlog::critical("FAILOVER {} [{} tier, rule {}]: {} -> plan {}", d.component,
                       decide::toString(d.tier), d.rule, d.reason, d.plan);
      break;
    case Decision::Kind::FailoverSuppressed:
      spdlog::warn("failover of {} held back ({}): {}", d.component, d.suppressed_by, d.reason);
      break;
    case Decision::Kind::StateChanged:
      if (d.to == decide::Health::Failed) {
        spdlog::warn("{}: {}", d.component, d.reason);
      } else {
        spdlog::info("{}: {}", d.component, d.reason);
      }
      break;
    case Decision::Kind::CheckFailed:
      break;  // the failed result itself was logged; the event holds the counting
    default:
      spdlog::info("{}", d.reason);
  }
}

}  // namespace

struct Daemon::Impl {
  Impl(std::shared_ptr<const config::Config> c, Duration stop)
      : cfg(std::move(c)),
        stop_timeout(stop),
        rt(*cfg),
        log({cfg->event_log_path, static_cast<std::size_t>(cfg->event_queue_limit), nullptr,
             nullptr, &rt.io}),
        recorder(log, cfg->node.name, rt.clock),
        coordinator(localCoordinator(*cfg)),
        action_env{rt.io, rt.http, rt.workers, rt.clock},
        runner(action_env, *coordinator,
               [this](const std::string& type, const std::string& component,
                      const std::string& reason, nlohmann::json fields) {
                 recorder.record(type, component, reason, std::move(fields));
                 const bool bad = type == "failover_failed" || type == "step_failed";
                 spdlog::log(bad ? spdlog::level::err : spdlog::level::info, "{}: {}", component,
                             reason);
               },
               [this](std::function<void()> then) { recorder.afterDurable(std::move(then)); }),
        decider(*cfg),
        keeper(rt.io, rt.clock, *cfg, runner, *coordinator, decider, lockDir(*cfg),
               [this](const std::string& type, const std::string& component,
                      const std::string& reason, nlohmann::json fields) {
                 recorder.record(type, component, reason, std::move(fields));
                 spdlog::log(type == "failover_deferred" ? spdlog::level::warn : spdlog::level::err,
                             "{}: {}", component, reason);
               }),
        alert_policy(cfg->alerts.group_window),
        dispatcher(rt.io, rt.http, rt.clock, *cfg,
                   [this](const std::string& type, const std::string& component,
                          const std::string& reason, nlohmann::json fields) {
                     recorder.record(type, component, reason, std::move(fields));
                     spdlog::log(type == "alert_failed" ? spdlog::level::warn : spdlog::level::info,
                                 "{}: {}", component, reason);
                   }),
        scheduler(
            rt.env, *cfg, [this](const probes::ProbeResult& r) { onResult(r); },
            std::random_device{}()),
        ticker(rt.io),
        signals(rt.io, SIGINT, SIGTERM, SIGHUP) {
    // Alerts come from the events, after each is on disk.
    recorder.observe([this](const events::Event& e) {
      for (const auto& a : alert_policy.onEvent(e)) dispatcher.submit(a);
    });
  }

  void onResult(const probes::ProbeResult& r) {
    // Every failed result is logged (info: `logging.level: warn` keeps only decisions).
    if (!r.ok()) {
      spdlog::info("{}/{} {}{}: {}", r.component, r.check, probes::toString(r.status),
                   r.informational ? " (informational)" : "", r.reason);
    }
    record(decider.observe(r, rt.clock.now()));
  }

  // Each decision is queued before it is acted on (and on disk before the plan's first step
  // is reported done). `followed`: the switch they follow.
  void record(const std::vector<Decision>& decisions,
              const probes::MasterSwitch* followed = nullptr) {
    for (const Decision& d : decisions) {
      const std::string id = recorder.nextId(d.at);
      recorder.append(events::fromDecision(d, cfg->node.name, id));
      logDecision(d);
      if (d.kind == Decision::Kind::FailoverTriggered) runPlan(d, id, followed);
    }
  }

  // Sentinel switched a master by itself: record it and follow with the component's plan.
  void onSwitch(const probes::MasterSwitch& s) {
    const std::string why = fmt::format("Sentinel {} announced +switch-master {}: {} -> {}",
                                        s.sentinel, s.master_name, s.old_master, s.new_master);
    record(decider.reportExternalFailover(s.component, why, rt.clock.now(), s.at), &s);
  }

  void startWatches() {
    for (const auto& c : cfg->components) {
      if (!c.follow) continue;
      watches.push_back(std::make_unique<probes::SentinelWatch>(
          rt.io, rt.clock, c.name, *c.follow,
          [this](const probes::MasterSwitch& s) { onSwitch(s); },
          [name = c.name](const std::string& sentinel, bool up, const std::string& why) {
            spdlog::log(up ? spdlog::level::info : spdlog::level::warn, "{}: Sentinel {}: {}", name,
                        sentinel, why);
          }));
      watches.back()->start();
    }
  }

  void runPlan(const Decision& d, const std::string& trigger,
               const probes::MasterSwitch* followed = nullptr) {
    const config::PlanConfig* plan = cfg->findPlan(d.plan);
    const config::ComponentConfig* c = cfg->findComponent(d.component);
    if (plan == nullptr || c == nullptr) return;
    actions::RunRequest request;
    request.component = d.component;
    request.plan = plan;
    request.rto_target = c->rto_target;
    request.first_failure = d.breach_started;  // the first sample that breached the rule
    if (!d.breach_from.empty()) request.rto_from = d.breach_from;
    request.trigger = trigger;
    request.context = {d.component, cfg->node.name, c->primary, c->standby, {}, {}, d.reason};
    if (followed != nullptr) {
      request.context.old_primary = followed->old_master;
      request.context.new_primary = followed->new_master;
      request.context.switched = true;
      request.first_failure = followed->at;  // the RTO of a follow starts at the switch
      request.rto_from = "Sentinel's switch announcement";
    }
    keeper.start(std::move(request));  // now, or deferred until it can
  }

  // Applies what `hftguard maintenance` wrote: new windows start, removed ones end. Expiry
  // is the decider's own.
  void syncMaintenance() {
    std::string why;
    auto entries = control::readMaintenance(cfg->maintenance_path, &why);
    if (!entries) {
      if (why != maintenance_error) spdlog::error("maintenance file ignored: {}", why);
      maintenance_error = why;
      return;
    }
    maintenance_error.clear();
    const SteadyTime now = rt.clock.now();
    const WallTime wall = rt.clock.wallNow();
    std::erase_if(*entries, [&](const auto& e) { return e.expires <= wall; });
    std::erase_if(applied, [&](const auto& e) { return e.expires <= wall; });
    for (const auto& a : applied) {
      if (std::find(entries->begin(), entries->end(), a) == entries->end()) {
        record(decider.endMaintenance(a.component, "ended by an operator", now, wall));
      }
    }
    for (const auto& e : *entries) {
      if (std::find(applied.begin(), applied.end(), e) != applied.end()) continue;
      if (!e.component.empty() && cfg->findComponent(e.component) == nullptr) continue;
      record(decider.startMaintenance(e.component, e.owner, e.reason,
                                      std::chrono::duration_cast<Duration>(e.expires - wall), now,
                                      wall));
    }
    applied = std::move(*entries);
  }

  void tick() {
    ticker.expires_after(std::chrono::seconds(1));
    ticker.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      syncMaintenance();
      keeper.tick();
      record(decider.tick(rt.clock.now(), rt.clock.wallNow()));
      for (const auto& a : alert_policy.tick(rt.clock.wallNow())) dispatcher.submit(a);
      tick();
    });
  }

  void waitForSignal() {
    signals.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        log.reopen();
        spdlog::info(
            "SIGHUP: event log reopened; config reload is not supported, restart to apply one");
        waitForSignal();
        return;
      }
      const std::string name = sig == SIGINT ? "SIGINT" : "SIGTERM";
      if (stopping) {  // asked twice: the plan in flight is interrupted now
        runner.interrupt(name + " received again while waiting for the plan");
        return;
      }
      stopping = true;
      spdlog::info("{}: stopping", name);
      scheduler.stop();
      for (auto& w : watches) w->stop();
      ticker.cancel();
      waitForSignal();
      // A plan in flight finishes first (within its deadline): no plan is cut off mid-way.
      keeper.stop(stop_timeout, [this, name](const std::string& outcome) {
        recorder.record("daemon_stopped", "", fmt::format("{}: stopped, {}", name, outcome),
                        {{"signal", name}, {"outcome", outcome}});
        dispatcher.stop();
        rt.io.stop();
      });
    });
  }

  std::shared_ptr<const config::Config> cfg;
  Duration stop_timeout;
  Runtime rt;
  events::EventLog log;
  Recorder recorder;
  std::unique_ptr<coord::Coordinator> coordinator;
  actions::ActionEnv action_env;
  actions::FailoverRunner runner;
  decide::Decider decider;
  PlanKeeper keeper;
  alerts::AlertPolicy alert_policy;
  alerts::AlertDispatcher dispatcher;
  probes::Scheduler scheduler;
  boost::asio::steady_timer ticker;
  boost::asio::signal_set signals;
  std::vector<std::unique_ptr<probes::SentinelWatch>> watches;
  std::vector<control::MaintenanceEntry> applied;  // windows the decider has been told of
  std::string maintenance_error;
  bool stopping = false;
};

Daemon::Daemon(std::shared_ptr<const config::Config> cfg, Duration stop_timeout)
    : impl_(std::make_unique<Impl>(std::move(cfg), stop_timeout)) {}
Daemon::~Daemon() = default;

int Daemon::run() {
  Impl& d = *impl_;
  spdlog::info("hftguard {} starting: node {} site {}, {} components, {} checks, events to {}",
               kVersion, d.cfg->node.name, d.cfg->node.site, d.cfg->components.size(),
               d.scheduler.size(), d.cfg->event_log_path);
  d.recorder.record("daemon_started", "",
                    fmt::format("hftguard {} started with {}", kVersion, d.cfg->source_path),
                    {{"version", kVersion}, {"config", d.cfg->source_path}, {"pid", ::getpid()}});
  d.waitForSignal();
  d.keeper.recoverInterrupted();  // before the first probe: a half-done plan holds automation
  d.syncMaintenance();            // windows set while the daemon was down still hold
  d.scheduler.start();
  d.startWatches();
  d.tick();
  d.rt.io.run();
  const auto& stats = d.scheduler.stats();
  spdlog::info("stopped after {} probe runs ({} skipped while busy, {} missed while behind)",
               stats.runs, stats.skipped_busy, stats.skipped_behind);
  return 0;
}

}  // namespace hftguard::cli

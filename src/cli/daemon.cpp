#include "daemon.hpp"

#include <csignal>
#include <random>
#include <set>

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/ranges.h>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "hftguard/actions/runner.hpp"
#include "hftguard/alerts/dispatcher.hpp"
#include "hftguard/alerts/policy.hpp"
#include "hftguard/config/loader.hpp"
#include "hftguard/config/reload.hpp"
#include "hftguard/control/maintenance_file.hpp"
#include "hftguard/control/telemetry.hpp"
#include "hftguard/core/logging.hpp"
#include "hftguard/coord/cluster_state.hpp"
#include "hftguard/coord/etcd_coordinator.hpp"
#include "hftguard/coord/state_file.hpp"
#include "hftguard/decide/decider.hpp"
#include "hftguard/events/event.hpp"
#include "hftguard/events/event_log.hpp"
#include "hftguard/events/from_decision.hpp"
#include "hftguard/probes/scheduler.hpp"
#include "hftguard/probes/sentinel_watch.hpp"
#include "hftguard/version.hpp"

#include "control_surface.hpp"
#include "partition_guard.hpp"
#include "plan_keeper.hpp"
#include "roles.hpp"
#include "recorder.hpp"
#include "runtime.hpp"
#include "status_view.hpp"
#include "switchover.hpp"
#include "systemd_notify.hpp"

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
  Impl(std::shared_ptr<const config::Config> c, Duration stop, std::string log_level)
      : cfg(std::move(c)),
        stop_timeout(stop),
        log_level_override(std::move(log_level)),
        rt(*cfg),
        telemetry(kVersion),
        log({cfg->event_log_path, static_cast<std::size_t>(cfg->event_queue_limit), nullptr,
             nullptr, &rt.io, std::chrono::seconds(1), std::chrono::milliseconds(50),
             [this](Duration took, bool ok) { telemetry.onEventLogWrite(took, ok); }}),
        recorder(log, cfg->node.name, rt.clock),
        coordinator(makeCoordinator()),
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
               },
               etcd),
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
    if (etcd != nullptr) {
      keeper.setResumer([this](const actions::PlanJournal& j) { takeUpPlan(j); });
      guard = std::make_unique<PartitionGuard>(
          *cfg, rt.clock, *etcd, decider, roles, action_env,
          PartitionGuard::Hooks{
              [this](const std::string& type, const std::string& component,
                     const std::string& reason, nlohmann::json fields) {
                recorder.record(type, component, reason, std::move(fields));
                const bool bad = type.starts_with("self_fence") || type == "observer_disagrees" ||
                                 type == "etcd_lost";
                spdlog::log(bad ? spdlog::level::warn : spdlog::level::info, "{}: {}",
                            component.empty() ? cfg->node.name : component, reason);
              },
              [this](const Decision& d, const std::string& trigger, const Admission& a) {
                startPlan(d, trigger, a);
              },
              [this](const Decision& d, const std::string& trigger) { standBy(d, trigger); },
              [this](const std::vector<Decision>& ds) { record(ds); }});
    }
    // Alerts come from the events, after each is on disk.
    recorder.observe([this](const events::Event& e) {
      try {  // what the operator's surface keeps never stops an alert, or the daemon
        telemetry.onEvent(e);
        book.onEvent(e);
      } catch (const std::exception& x) {
        spdlog::error("event {} ({}) not counted: {}", e.id, e.type, x.what());
      }
      for (const auto& a : alert_policy.onEvent(e)) dispatcher.submit(a);
    });
    if (etcd != nullptr) {
      control_etcd = std::make_unique<coord::EtcdClient>(rt.http, coord::etcdOptions(*cfg));
    }
    surface = std::make_unique<ControlSurface>(
        rt.io, rt.workers, *cfg, telemetry,
        ControlSurface::Hooks{[this] { return statusJson(); }, [this] { return book.plans(); },
                              [this] { return metricsText(); },
                              [this](const nlohmann::json& q, ControlSurface::Done done) {
                                pauseOrResume(q, true, std::move(done));
                              },
                              [this](const nlohmann::json& q, ControlSurface::Done done) {
                                pauseOrResume(q, false, std::move(done));
                              },
                              [this](const nlohmann::json& q, ControlSurface::Done done) {
                                maintenanceRequest(q, std::move(done));
                              },
                              [this](const nlohmann::json&, ControlSurface::Done done) {
                                reload("POST /reload", std::move(done));
                              },
                              [this](const nlohmann::json& q, ControlSurface::Done done) {
                                switchoverRequest(q, std::move(done));
                              },
                              [this](const nlohmann::json& q, ControlSurface::Done done) {
                                failoverRequest(q, std::move(done));
                              }});
  }

  // `local`: the host's plan locks. `etcd`: the cluster's leader lease and its state.
  std::unique_ptr<coord::Coordinator> makeCoordinator() {
    if (cfg->coordination.type != "etcd") return localCoordinator(*cfg);
    auto e = std::make_unique<coord::EtcdCoordinator>(
        rt.io, rt.http, rt.clock, *cfg,
        coord::EtcdCoordinator::Hooks{
            [this](const std::string& component, const coord::Roles& r) {
              if (const auto* c = cfg->findComponent(component); c && roles.count(component)) {
                if (r.epoch >= roles[component].epoch) adoptRoles(*c, r, "etcd");
              }
            },
            [this](bool leading, const std::string& leader, const std::string& why) {
              recorder.record(leading ? "leader_elected" : "leader_lost", "",
                              leading ? fmt::format("{} leads cluster {}: {}", cfg->node.name,
                                                    cfg->coordination.cluster, why)
                                      : fmt::format("{} no longer leads cluster {}: {}",
                                                    cfg->node.name, cfg->coordination.cluster,
                                                    why),
                              {{"leader", leader}, {"cluster", cfg->coordination.cluster},
                               {"why", why}});
              spdlog::log(leading ? spdlog::level::info : spdlog::level::warn, "etcd: {}",
                          leading ? "this daemon leads: " + why : "leadership lost: " + why);
              // The windows of the read that elected it apply before it acts on anything.
              if (leading) {
                syncMaintenance();
                boost::asio::post(rt.io, [this] { takeOverDecisions(); });
              }
              reevaluateSoon();
            },
            [this] { reevaluateSoon(); },
            [this](bool lost, const std::string& why, SteadyTime expiry) {
              if (guard) guard->cutOff(lost, why, expiry);
            }});
    etcd = e.get();
    return e;
  }

  // Every second and on becoming leader. The failovers this daemon left to the previous
  // leader hold only for their outage: dropped once the component is healthy again or a
  // leader acted on it (dropEnded; also when its roles move, adoptRoles). Leading, the rest
  // run now if their component is still failed; one that is recovering (answering again,
  // not yet for `rise` probes) or in maintenance waits - as the decider lets a failover held
  // by maintenance go ahead when the window ends. (The roles' admit refuses one that
  // already happened.)
  void takeOverDecisions() {
    dropEnded();
    if (etcd == nullptr || !etcd->leading()) return;
    for (auto it = standing_by.begin(); it != standing_by.end();) {
      const std::string component = it->first;
      auto& p = it->second;
      if (decider.health(component) != decide::Health::Failed) {
        ++it;
        continue;
      }
      if (decider.inMaintenance(component)) {
        if (waiting_in_maintenance.insert(component).second) {
          recorder.record("failover_skipped", component,
                          fmt::format("the failover this daemon had left to the previous leader "
                                      "waits: {} is in maintenance now",
                                      component),
                          {{"plan", p.first.plan}, {"trigger", p.second}, {"held_by", "maintenance"}});
        }
        ++it;
        continue;
      }
      waiting_in_maintenance.erase(component);
      auto [d, trigger] = std::move(p);
      it = standing_by.erase(it);
      recorder.record("failover_taken_over", component,
                      fmt::format("this daemon now leads; {} is still failed: running plan {} "
                                  "that it had left to the previous leader",
                                  component, d.plan),
                      {{"plan", d.plan}, {"trigger", trigger}});
      runPlan(d, trigger);
    }
  }

  // The left decisions whose outage is over: the component is healthy again (Recovering is
  // still the same outage for the decider, which then decides nothing new: kept), a leader's
  // plan for this outage was seen (its outcome counts), or - leading - a plan taken up holds
  // the component.
  void dropEnded() {
    const bool leading = etcd != nullptr && etcd->leading();
    std::erase_if(standing_by, [&](const auto& p) {
      const auto h = decider.health(p.first);
      const bool over = h == decide::Health::Healthy || h == decide::Health::Suspect ||
                        leaderActed(p.first, p.second.first) || (leading && keeper.held(p.first));
      if (over) waiting_in_maintenance.erase(p.first);
      return over;
    });
  }

  void onResult(const probes::ProbeResult& r) {
    // A run that was in flight when a reload removed its check: no metric series again.
    const config::ComponentConfig* c = cfg->findComponent(r.component);
    if (c != nullptr && c->findCheck(r.check) != nullptr) telemetry.onProbe(r);
    book.onProbe(r);
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
      // This daemon's view changed: the others (the leader's quorum) hear of it at once.
      if (guard) guard->noteDecision(d);
      if (d.kind == Decision::Kind::StateChanged && etcd != nullptr) reportToCluster();
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
    if (etcd != nullptr && !etcd->leading()) return standBy(d, trigger);
    Admission admission;
    // The leader's own view is one observer's: the failover waits for a quorum of them (and
    // for a cut-off primary's host to fence itself). A followed switch already happened.
    if (guard && followed == nullptr) {
      auto a = guard->admit(d, trigger);
      if (!a) return;
      admission = *a;
    }
    startPlan(d, trigger, admission, followed);
  }

  // The others probe, record and stand by. Kept: if this daemon becomes leader while the
  // component is still failed (the leader died with the primary's host), it runs the plan
  // then - the decider does not decide a second time for a failure it already reported.
  void standBy(const Decision& d, const std::string& trigger) {
    standing_by[d.component] = {d, trigger};
    const std::string leader = etcd->leader();
    recorder.record("failover_standby", d.component,
                    fmt::format("plan {} left to the leader ({})", d.plan,
                                leader.empty() ? "none elected now" : leader),
                    {{"plan", d.plan}, {"trigger", trigger}, {"leader", leader}});
  }

  void startPlan(const Decision& d, const std::string& trigger, const Admission& admission,
                 const probes::MasterSwitch* followed = nullptr) {
    if (auto request = planRequest(d, trigger, admission, followed)) {
      keeper.start(std::move(*request));  // now, or deferred until it can
    }
  }

  // The run a decision asks for, between the roles as they stand; nothing (recorded) when
  // it cannot run (no ready standby, the roles not read).
  std::optional<actions::RunRequest> planRequest(const Decision& d, const std::string& trigger,
                                                 const Admission& admission,
                                                 const probes::MasterSwitch* followed = nullptr,
                                                 bool dry_run = false) {
    const config::PlanConfig* plan = cfg->findPlan(d.plan);
    const config::ComponentConfig* c = cfg->findComponent(d.component);
    if (plan == nullptr || c == nullptr) return std::nullopt;
    actions::RunRequest request;
    request.component = d.component;
    request.plan = plan;
    request.rto_target = c->rto_target;
    request.first_failure = d.breach_started;  // the first sample that breached the rule
    if (!d.breach_from.empty()) request.rto_from = d.breach_from;
    request.trigger = trigger;
    request.dry_run = dry_run;
    request.context = {d.component, cfg->node.name, c->primary, c->standby, {}, {}, d.reason};
    // A component's own plan runs between its roles; a site plan moves no component's.
    if (!c->members.empty() && d.plan == c->plan && !fromRoles(*c, request, trigger)) {
      return std::nullopt;
    }
    request.context.self_fenced = admission.self_fenced;
    if (followed != nullptr) {
      request.context.old_primary = followed->old_master;
      request.context.new_primary = followed->new_master;
      request.context.switched = true;
      request.first_failure = followed->at;  // the RTO of a follow starts at the switch
      request.rto_from = "Sentinel's switch announcement";
    }
    return request;
  }

  // The plan of a component with members runs between the roles as they stand: from the
  // primary to the candidate, admitted only while the state file still says so, and moves
  // them when it completes. False (recorded) when no standby is ready.
  bool fromRoles(const config::ComponentConfig& c, actions::RunRequest& request,
                 const std::string& trigger) {
    const coord::Roles& r = roles.at(c.name);
    if (etcd != nullptr && !etcd->rolesKnown()) {
      recorder.record("failover_skipped", c.name,
                      "plan " + c.plan + " not started: the roles have not been read from etcd",
                      {{"plan", c.plan}, {"trigger", trigger}, {"coordinator", "etcd"}});
      return false;
    }
    if (std::string why = fillFromRoles(c, r, request.context); !why.empty()) {
      nlohmann::json fields = {
          {"plan", c.plan}, {"trigger", trigger}, {"epoch", r.epoch}, {"no_standby", true}};
      if (request.dry_run) fields["dry_run"] = true;  // an operator's question: no page
      recorder.record("failover_skipped", c.name,
                      (request.dry_run ? "dry run: plan " : "plan ") + c.plan +
                          " not started: " + why,
                      std::move(fields));
      spdlog::error("{}: failover not started: {}", c.name, why);
      return false;
    }
    if (etcd != nullptr) {
      etcdRoles(c, request, trigger, false);
      return true;
    }
    request.admit = admitSameRoles(c, state_file, request.context, false);
    request.commit = commitToFile(c, state_file, rt.workers, rt.clock, trigger,
                                  [this, &c](const coord::Roles& after) {
                                    adoptRoles(c, after, "this daemon's failover");
                                  });
    return true;
  }

  // A plan between the roles in etcd: admitted while they are still those it was filled from
  // (`resumed`: or already its own outcome), and moving them by the leader's transaction.
  void etcdRoles(const config::ComponentConfig& c, actions::RunRequest& request,
                 const std::string& trigger, bool resumed) {
    request.admit = [this, &c, ctx = request.context, resumed]() -> std::string {
      auto now = etcd->roles(c.name);
      return now ? sameRoles(*now, ctx, resumed) : "the roles have not been read from etcd";
    };
    request.commit = [this, &c, trigger](const actions::PlanContext& ctx,
                                         actions::RunRequest::Committed committed) {
      coord::LastFailover what{memberOf(ctx, "old_primary"), memberOf(ctx, "new_primary"),
                               events::formatTimestamp(rt.clock.wallNow()), trigger};
      commitRoles(c, ctx, what, std::move(committed),
                  rt.clock.now() + cfg->coordination.lease_ttl);
    };
  }

  // The roles' compare-and-set, tried again (300 ms apart) while this daemon leads, until
  // `until` (a lease TTL: longer than an etcd leader election): etcd's answer may be an
  // error where the commit landed (the retry then finds it applied) or a hiccup. The steps
  // already ran: giving up leaves the journal and holds the component
  // (RunReport::roles_unmoved); a leader that takes the journal up commits it.
  void commitRoles(const config::ComponentConfig& c, const actions::PlanContext& ctx,
                   coord::LastFailover what, actions::RunRequest::Committed committed,
                   SteadyTime until) {
    etcd->commitFailover(
        c.name, what.from, what.to, ctx.epoch - 1, what,
        [this, &c, ctx, what, committed, until](std::string error, coord::Roles after) {
          // Only what a retry can mend (etcd did not answer, or answered an error): a compare
          // that failed (roles moved, leadership lost) stands; a stopping daemon gives up.
          if (!error.empty() && error.starts_with("etcd") && rt.clock.now() < until &&
              etcd->leading() && !stopping) {
            spdlog::warn("{}: the roles' commit failed ({}); trying again", c.name, error);
            auto timer = std::make_shared<boost::asio::steady_timer>(rt.io);
            timer->expires_after(std::chrono::milliseconds(300));
            timer->async_wait([this, &c, ctx, what, committed, until, timer](
                                  boost::system::error_code) {
              commitRoles(c, ctx, what, committed, until);
            });
            return;
          }
          nlohmann::json f = nlohmann::json::object();
          if (error.empty()) {
            f = {{"new_primary", after.primary}, {"epoch", after.epoch}, {"fenced", after.fenced}};
            adoptRoles(c, after, "this daemon's failover");
          }
          committed(error, std::move(f));
        });
  }

  // Newly leader, this daemon finds the plan the previous leader left in flight (it was
  // killed, cut off, or lost its lease mid-plan). Its failover is already in the roles: the
  // journal goes. The roles still those it started from: its remaining steps are
  // re-verified and run, as a continuation (the same epoch: a promote is never run for a
  // second epoch). Anything else - the plan changed, the roles moved elsewhere - holds the
  // component for an operator.
  void takeUpPlan(const actions::PlanJournal& j) {
    const config::ComponentConfig* c = cfg->findComponent(j.component);
    const config::PlanConfig* plan = cfg->findPlan(j.plan);
    if (c == nullptr) return keeper.holdInterrupted(j.component, "its component is not configured");
    if (plan == nullptr) return keeper.holdInterrupted(j.component, "plan " + j.plan + " is gone");
    const auto& steps = plan->steps;
    if (j.steps_done > steps.size() ||
        (j.steps_done > 0 && steps[j.steps_done - 1].name != j.last_step)) {
      return keeper.holdInterrupted(
          j.component, fmt::format("plan {} has changed since (step {} is no longer '{}')", j.plan,
                                   j.steps_done, j.last_step));
    }
    for (std::size_t k = j.steps_done; k < steps.size(); ++k) {  // the plan may have changed
      if (steps[k].timeout > config::leaseWindow(cfg->coordination.lease_ttl)) {
        return keeper.holdInterrupted(
            j.component, fmt::format("its step {} ({}) is longer than the leader's lease can "
                                     "promise",
                                     steps[k].name, formatDuration(steps[k].timeout)));
      }
    }
    actions::RunRequest request;
    request.component = j.component;
    request.plan = plan;
    request.rto_target = c->rto_target;
    request.trigger = j.trigger;
    // The outage began before the previous leader's plan: its RTO counts from the first
    // failed sample that plan journaled (else from that plan's start), across the takeover.
    request.first_failure = events::parseTimestamp(j.first_failure);
    request.rto_from = "first failed sample";
    if (!request.first_failure) {
      request.first_failure = events::parseTimestamp(j.started);
      request.rto_from = "the interrupted plan's start";
    }
    request.first_step = j.steps_done;
    request.context = {j.component, cfg->node.name, j.old_primary, j.new_primary, {}, {},
                       j.reason};
    request.context.old_primary_fenced = j.old_primary_fenced;
    request.context.fence_failed = j.fence_failed;
    request.context.self_fenced = j.self_fenced;
    request.context.switched = j.switched;
    request.context.epoch = j.epoch;
    request.context.members = j.members;
    // A plan journaled with an epoch moves the roles: the component's failover plan or a
    // switchover's (whatever its name); a site plan never does.
    if (!c->members.empty() && j.epoch != 0) {
      auto now = etcd->roles(c->name);
      if (!now) return keeper.holdInterrupted(j.component, "the roles have not been read from etcd");
      const std::string to = memberOf(request.context, "new_primary");
      if (now->epoch >= j.epoch && now->primary == to) {
        return keeper.drop(j, fmt::format("its failover is already in the roles ({} primary at "
                                          "epoch {})",
                                          now->primary, now->epoch));
      }
      if (std::string why = sameRoles(*now, request.context, true); !why.empty()) {
        return keeper.holdInterrupted(j.component, why);
      }
      etcdRoles(*c, request, j.trigger, true);
    } else if (j.steps_done == steps.size()) {  // nothing moves roles, and nothing is left
      return keeper.drop(j, "every step of it was done");
    }
    keeper.resume(std::move(request), j);
  }

  // Roles that changed (a failover here, or the state file changed by an operator's
  // `hftguard member`, `failover`): recorded, and the checks address the new members.
  void adoptRoles(const config::ComponentConfig& c, const coord::Roles& now,
                  const std::string& by) {
    coord::Roles& was = roles[c.name];
    if (was == now) return;
    recorder.record("roles_changed", c.name,
                    fmt::format("{}: primary {}, standbys {}, fenced {} at epoch {} ({})", c.name,
                                now.primary, now.standbys.empty() ? "none" : fmt::format("{}", fmt::join(now.standbys, ", ")),
                                now.fenced.empty() ? "none" : fmt::format("{}", fmt::join(now.fenced, ", ")),
                                now.epoch, by),
                    {{"roles", coord::toJson(now)}, {"was", coord::toJson(was)}, {"by", by}});
    if (guard && now.primary != was.primary) guard->rolesMoved(c.name);
    // What the checks said was about the members before.
    if (now.primary != was.primary || now.watched() != was.watched()) book.rolesMoved(c.name);
    decider.cancelRetry(c.name);  // a retry due was about the roles before (any change)
    if (now.epoch != was.epoch) {  // that failover happened
      standing_by.erase(c.name);
      if (guard) guard->forget(c.name);
      waiting_in_maintenance.erase(c.name);
    }
    was = now;
    scheduler.retarget(c, c.checksFor(now.primary, now.watched()));
    if (etcd != nullptr) reportToCluster();  // what it observes now names the new primary
  }

  // A plan journal for this outage was seen in etcd: written at or after the outage's first
  // failed sample here (less a second: the daemons sample on their own phases; components
  // without roles have no epoch to tell that the leader acted). A site
  // (system-tier) plan is journaled under whichever component tipped it on the leader, so
  // any component's journal counts for it.
  bool leaderActed(const std::string& component, const Decision& d) const {
    if (etcd == nullptr) return false;
    const config::ComponentConfig* c = cfg->findComponent(component);
    const bool own = c != nullptr && d.plan == c->plan;
    const auto seen = etcd->planSeenAt(own ? component : std::string());
    const WallTime outage = d.breach_started.value_or(d.at);
    return seen && *seen + std::chrono::seconds(1) >= outage;
  }

  // At start-up: the roles a failover before the restart left, else the configured ones
  // (written down, so that `hftguard member` and the next start find them). A state that
  // cannot be read, or names a primary that is not a member, stops the start: hftguard
  // never guesses who is primary.
  void loadRoles() {
    const bool any = std::any_of(cfg->components.begin(), cfg->components.end(),
                                 [](const auto& c) { return !c.members.empty(); });
    if (!any) return;
    if (etcd != nullptr) {  // the configured roles until etcd's are read (no plan runs before)
      for (const auto& c : cfg->components) {
        if (!c.members.empty()) roles[c.name] = coord::initialRoles(c);
      }
      return;
    }
    std::vector<std::string> problems;
    coord::ClusterState fitted;
    // Read, fitted and written back under the file's lock: an operator's change meanwhile
    // is never overwritten.
    const std::string why = state_file.update([&](coord::ClusterState& s) {
      fitted = coord::fitState(*cfg, s, &problems);
      for (const auto& c : cfg->components) {
        if (!c.members.empty() && !fitted.components.count(c.name)) {
          return fmt::format("{}", fmt::join(problems, "; "));
        }
      }
      for (const auto& [name, r] : fitted.components) s.components[name] = r;
      return std::string();
    });
    if (!why.empty()) throw std::runtime_error("cluster state: " + why);
    for (const auto& p : problems) spdlog::warn("cluster state: {}", p);
    for (const auto& [name, r] : fitted.components) {
      const config::ComponentConfig& c = *cfg->findComponent(name);
      roles[name] = r;
      scheduler.retarget(c, c.checksFor(r.primary, r.watched()));
    }
  }

  // Every second: an operator's change to the state file (read off the loop) is adopted.
  void syncRoles() {
    if (roles.empty() || reading_roles || etcd != nullptr) return;
    reading_roles = true;
    rt.workers.submit([this, file = state_file]() -> net::WorkerPool::Continuation {
      std::string why;
      auto s = file.read(&why);
      return [this, s = std::move(s), why] {
        reading_roles = false;
        if (!s) {
          if (why != roles_error) spdlog::error("cluster state not re-read: {}", why);
          roles_error = why;
          return;
        }
        roles_error.clear();
        for (const auto& c : cfg->components) {
          auto it = s->components.find(c.name);
          if (c.members.empty() || it == s->components.end() || runner.running(c.name)) continue;
          std::string bad;
          if (auto r = coord::fitRoles(c, it->second, &bad)) {
            // A read that raced this daemon's own commit is older, never newer: the epoch
            // only grows.
            if (r->epoch >= roles[c.name].epoch) adoptRoles(c, *r, "the state file");
          } else if (bad != roles_error) {
            spdlog::error("cluster state not adopted: {}", bad);
            roles_error = bad;
          }
        }
      };
    });
  }

  // What this daemon sees, for `hftguard status` on any host (daemons/<node> in etcd).
  void reportToCluster() {
    nlohmann::json health = nlohmann::json::object();
    for (const auto& c : cfg->components) {
      health[c.name] = std::string(decide::toString(decider.health(c.name)));
    }
    etcd->report(nlohmann::json{{"node", cfg->node.name},
                                {"version", kVersion},
                                {"pid", ::getpid()},
                                {"leading", etcd->leading()},
                                {"health", health},
                                {"observations", guard->observations()}}
                     .dump());
  }

  // Once per turn of the loop however many changes asked: the observers, a leadership.
  void reevaluateSoon() {
    if (!guard || reevaluating) return;
    reevaluating = true;
    boost::asio::post(rt.io, [this] {
      reevaluating = false;
      if (!stopping) guard->reevaluate();
    });
  }

  // Applies what `hftguard maintenance` wrote: new windows start, removed ones end. Expiry
  // is the decider's own. With etcd: the cluster's windows too (one command holds every
  // daemon); while etcd cannot be read, the windows last read from it stand.
  void syncMaintenance() {
    std::string why;
    auto entries = control::readMaintenance(cfg->maintenance_path, &why);
    if (!entries) {
      if (why != maintenance_error) spdlog::error("maintenance file ignored: {}", why);
      maintenance_error = why;
      if (etcd == nullptr) return;
      entries = file_windows;  // the file's last good windows stand; etcd's still apply
    } else {
      maintenance_error.clear();
      file_windows = *entries;
    }
    if (etcd != nullptr) {
      if (auto text = etcd->maintenance()) {
        std::string bad;
        auto cluster = text->empty() ? std::optional(std::vector<control::MaintenanceEntry>{})
                                     : control::parseMaintenance(*text, &bad);
        if (cluster) {
          cluster_windows = std::move(*cluster);
          cluster_error.clear();
        } else if (bad != cluster_error) {
          spdlog::error("the cluster's maintenance windows in etcd ignored: {}", bad);
          cluster_error = bad;
        }
      }
      entries->insert(entries->end(), cluster_windows.begin(), cluster_windows.end());
    }
    const SteadyTime now = rt.clock.now();
    const WallTime wall = rt.clock.wallNow();
    // A window of a component this config does not have waits (a reload may add it).
    std::erase_if(*entries, [&](const auto& e) {
      return e.expires <= wall || (!e.component.empty() && cfg->findComponent(e.component) == nullptr);
    });
    // One window per component (the decider keeps one): the one that lasts longest, so that
    // no window - the file's or the cluster's, a pause or a 30-minute window of the whole
    // node - can end another's protection.
    std::vector<control::MaintenanceEntry> merged;
    for (const auto& e : *entries) {
      auto same = std::find_if(merged.begin(), merged.end(),
                               [&](const auto& m) { return m.component == e.component; });
      if (same == merged.end()) {
        merged.push_back(e);
      } else if (e.expires > same->expires) {
        *same = e;
      }
    }
    std::erase_if(applied, [&](const auto& e) { return e.expires <= wall; });
    // New and replacing windows first, ended ones after: an end releases held failovers
    // (the decider's tick), so every window that should hold must be in place by then. A
    // replaced window is started over, never ended first.
    for (const auto& e : merged) {
      if (std::find(applied.begin(), applied.end(), e) != applied.end()) continue;
      record(decider.startMaintenance(e.component, e.owner, e.reason,
                                      std::chrono::duration_cast<Duration>(e.expires - wall), now,
                                      wall));
    }
    for (const auto& a : applied) {
      const bool still = std::any_of(merged.begin(), merged.end(),
                                     [&](const auto& m) { return m.component == a.component; });
      if (!still) record(decider.endMaintenance(a.component, "ended by an operator", now, wall));
    }
    applied = std::move(merged);
  }

  // --- the control API's answers (control_surface.hpp) ---

  nlohmann::json statusJson() {
    const WallTime wall = rt.clock.wallNow();
    nlohmann::json out = {{"node", cfg->node.name},
                          {"site", cfg->node.site},
                          {"version", kVersion},
                          {"pid", ::getpid()},
                          {"started", events::formatTimestamp(started_wall)},
                          {"config", cfg->source_path},
                          {"event_log", cfg->event_log_path}};
    nlohmann::json coordination = {{"type", cfg->coordination.type},
                                   {"leading", etcd == nullptr || etcd->leading()}};
    if (etcd != nullptr) {
      const std::string leader = etcd->leader();
      coordination["cluster"] = cfg->coordination.cluster;
      coordination["leader"] = leader.empty() ? nlohmann::json() : nlohmann::json(leader);
    } else {
      coordination["leader"] = cfg->node.name;
    }
    out["coordination"] = coordination;
    nlohmann::json paused = nullptr;
    nlohmann::json windows = nlohmann::json::array();
    for (const auto& w : applied) {
      if (w.expires <= wall) continue;
      if (control::isPause(w)) {
        paused = {{"owner", w.owner}, {"reason", w.reason}};
        continue;
      }
      windows.push_back({{"component", w.component.empty() ? nlohmann::json() : nlohmann::json(w.component)},
                         {"owner", w.owner},
                         {"reason", w.reason},
                         {"expires", events::formatTimestamp(w.expires)}});
    }
    out["paused"] = paused;
    out["maintenance"] = windows;
    nlohmann::json components = nlohmann::json::object();
    for (const auto& c : cfg->components) {
      nlohmann::json j = {{"health", std::string(decide::toString(decider.health(c.name)))},
                          {"tier", std::string(config::toString(c.tier))},
                          {"automation", std::string(config::toString(c.automation))},
                          {"maintenance", decider.inMaintenance(c.name)},
                          {"plan", c.plan},
                          {"plan_running", runner.running(c.name)},
                          {"held", keeper.held(c.name)},
                          {"rto_target_ms", std::chrono::duration<double, std::milli>(c.rto_target).count()},
                          {"checks", book.checks(c)},
                          {"last_failover", book.lastFailover(c.name)}};
      if (auto r = roles.find(c.name); r != roles.end()) {
        j["roles"] = coord::toJson(r->second);
        j["standby"] = book.standby(c, r->second);
      } else {
        j["roles"] = nullptr;
      }
      components[c.name] = std::move(j);
    }
    out["components"] = components;
    return out;
  }

  std::string metricsText() {
    control::Telemetry::State s;
    const WallTime wall = rt.clock.wallNow();
    for (const auto& c : cfg->components) {
      control::Telemetry::ComponentState cs;
      cs.name = c.name;
      cs.health = std::string(decide::toString(decider.health(c.name)));
      cs.maintenance = decider.inMaintenance(c.name);
      cs.rto_target_seconds = std::chrono::duration<double>(c.rto_target).count();
      if (auto r = roles.find(c.name); r != roles.end()) {
        cs.epoch = static_cast<long long>(r->second.epoch);
        cs.primary = r->second.primary;
        cs.standbys = r->second.standbys;
        cs.fenced = r->second.fenced;
      }
      s.components.push_back(std::move(cs));
    }
    s.leading = etcd == nullptr || etcd->leading();
    s.paused = std::any_of(applied.begin(), applied.end(), [&](const auto& w) {
      return control::isPause(w) && w.expires > wall;
    });
    s.event_log_queued = static_cast<double>(log.queued());
    s.event_log_dropped = static_cast<double>(log.dropped());
    const auto& st = scheduler.stats();
    s.scheduler_runs = static_cast<double>(st.runs);
    s.scheduler_skipped_busy = static_cast<double>(st.skipped_busy);
    s.scheduler_skipped_behind = static_cast<double>(st.skipped_behind);
    return telemetry.render(s);
  }

  // Changes the windows where `hftguard maintenance` keeps them (the cluster's in etcd, else
  // the host's file, written off the loop) and applies them at once.
  void changeWindows(std::function<std::string(std::vector<control::MaintenanceEntry>&)> change,
                     std::function<void(std::string error)> done) {
    if (etcd != nullptr) {
      coord::updateMaintenanceInEtcd(
          *control_etcd, *cfg, std::move(change),
          [this, done](std::string error, std::vector<control::MaintenanceEntry> after) {
            if (!error.empty()) return done(error);
            awaitClusterWindows(control::maintenanceText(after),
                                rt.clock.now() + std::chrono::seconds(3), done);
          });
      return;
    }
    // On a thread of its own (never a probe's or a plan step's worker); the answer stays on
    // the loop's side, so nothing of a connection is released on that thread.
    const std::uint64_t id = ++window_changes;
    pending_changes[id] = std::move(done);
    control_work.submit([path = cfg->maintenance_path, change, id,
                          this]() -> net::WorkerPool::Continuation {
      std::string why = control::updateMaintenance(path, change);
      return [this, why, id] {
        auto it = pending_changes.find(id);
        if (it == pending_changes.end()) return;
        auto answer = std::move(it->second);
        pending_changes.erase(it);
        if (why.empty()) syncMaintenance();
        answer(why);
      };
    });
  }

  // Written to etcd: answered once this daemon's own read of the cluster's windows has it
  // and applied it (its watch, within ~200 ms), not before - "paused" must be true when said.
  void awaitClusterWindows(std::string want, SteadyTime until,
                           std::function<void(std::string)> done) {
    syncMaintenance();
    const auto seen = etcd->maintenance();
    std::optional<std::vector<control::MaintenanceEntry>> parsed;
    if (seen) {
      parsed = seen->empty() ? std::optional(std::vector<control::MaintenanceEntry>{})
                             : control::parseMaintenance(*seen);
    }
    if (parsed && control::maintenanceText(*parsed) == want) return done("");
    if (stopping || rt.clock.now() >= until) {
      return done(std::string(kWrittenNotSeen));
    }
    auto timer = std::make_shared<boost::asio::steady_timer>(rt.io);
    timer->expires_after(std::chrono::milliseconds(50));
    timer->async_wait([this, timer, want = std::move(want), until, done](boost::system::error_code) {
      awaitClusterWindows(want, until, done);
    });
  }
  static constexpr std::string_view kWrittenNotSeen =
      "written to etcd, but this daemon has not read it back within 3 s (can it read etcd?); "
      "every daemon applies it once it reads it";

  // POST /pause {"reason", "owner"} and /resume: automatic failover held on this node (every
  // daemon, with etcd) until resumed. Probing and recording go on.
  void pauseOrResume(const nlohmann::json& q, bool pause, ControlSurface::Done done) {
    const std::string owner = q.value("owner", std::string("control-api"));
    const std::string reason = q.value("reason", std::string());
    if (pause && reason.empty()) return done(400, {{"error", "pause needs a reason"}});
    const bool cluster = etcd != nullptr;
    changeWindows(
        control::pauseChange(pause, owner, reason),
        [done, pause, cluster, owner, reason, this](const std::string& error) {
          if (error == control::kNotPaused) return done(409, {{"error", error}});
          if (error == kWrittenNotSeen) return done(202, {{"warning", error}, {"paused", pause}});
          if (!error.empty()) return done(503, {{"error", error}});
          done(200, {{"paused", pause},
                     {"scope", cluster ? "cluster " + cfg->coordination.cluster : "node " + cfg->node.name},
                     {"owner", owner},
                     {"reason", reason}});
        });
  }

  // POST /maintenance {"action": "start"|"end", "component", "for", "reason", "owner"}.
  void maintenanceRequest(const nlohmann::json& q, ControlSurface::Done done) {
    const std::string action = q.value("action", std::string());
    const std::string component = q.value("component", std::string());
    if (action != "start" && action != "end") {
      return done(400, {{"error", "action: start or end"}});
    }
    if (!component.empty() && cfg->findComponent(component) == nullptr) {
      return done(404, {{"error", "no component '" + component + "'"}});
    }
    std::optional<control::MaintenanceEntry> added;
    if (action == "start") {
      auto length = parseDuration(q.value("for", std::string()));
      const std::string reason = q.value("reason", std::string());
      if (!length || *length <= Duration::zero() || *length > std::chrono::hours(24 * 7) ||
          reason.empty()) {
        return done(400, {{"error", "start needs for (a duration up to 7d) and a reason"}});
      }
      added = control::MaintenanceEntry{
          component, q.value("owner", std::string("control-api")), reason,
          rt.clock.wallNow() + std::chrono::duration_cast<WallTime::duration>(*length)};
    }
    changeWindows(
        [added, component](std::vector<control::MaintenanceEntry>& entries) -> std::string {
          std::erase_if(entries, [&](const auto& e) {
            return e.component == component && !control::isPause(e);
          });
          if (added) entries.push_back(*added);
          return "";
        },
        [done, action, component, added](const std::string& error) {
          if (error == kWrittenNotSeen) return done(202, {{"warning", error}});
          if (!error.empty()) return done(503, {{"error", error}});
          nlohmann::json out = {{"maintenance", action == "start"},
                                {"component", component.empty() ? nlohmann::json() : nlohmann::json(component)}};
          if (added) out["expires"] = events::formatTimestamp(added->expires);
          done(200, out);
        });
  }

  // --- switchover: POST /switchover {"component", "candidate", "dry_run", "owner", "reason"} ---

  // Answered 202 once it has started (its events tell the rest: `hftguard switchover`
  // follows them), or at once with why not.
  void switchoverRequest(const nlohmann::json& q, ControlSurface::Done done) {
    SwitchoverRequest r{q.value("component", std::string()), q.value("candidate", std::string()),
                        q.value("dry_run", false), q.value("owner", std::string("control-api")),
                        q.value("reason", std::string())};
    const config::ComponentConfig* c = cfg->findComponent(r.component);
    if (c == nullptr) return done(404, {{"error", "no component '" + r.component + "'"}});
    if (stopping) return done(409, {{"error", "the daemon is stopping"}});
    if (auto refusal = notLeading("a switchover")) return done(409, *refusal);
    if (!r.dry_run) {
      if (guard && guard->waiting(c->name)) {
        return done(409, {{"error", "a failover of " + c->name + " waits for its quorum"}});
      }
      if (reloading) return done(409, {{"error", "a reload is in progress"}});
    }
    std::string id;
    if (std::string why = switchover.start(*cfg, r, &id); !why.empty()) {
      return done(409, {{"error", why}});
    }
    done(202, {{"id", id},
               {"component", c->name},
               {"dry_run", r.dry_run},
               {"since", events::formatTimestamp(rt.clock.wallNow() - std::chrono::seconds(1))}});
  }

  // With etcd, only the leader acts: the refusal naming it, for an operator's request.
  std::optional<nlohmann::json> notLeading(const std::string& what) const {
    if (etcd == nullptr || etcd->leading()) return std::nullopt;
    const std::string leader = etcd->leader();
    return nlohmann::json{{"error", "only the leading daemon runs " + what + "; ask " +
                                        (leader.empty() ? std::string("the leader (none now)")
                                                        : leader)},
                          {"leader", leader}};
  }

  // POST /failover {"component", "reason", "owner", "dry_run"}: an operator's failover (the
  // confirmation a `semi` component waits for), run by this daemon like its own - between
  // the roles, under the lock, the plan's own checks first - past the automatic gates
  // (automation, cooldown, maintenance, the quorum): the operator decided. 202 with the
  // failover_requested id; its events tell the rest.
  void failoverRequest(const nlohmann::json& q, ControlSurface::Done done) {
    const std::string component = q.value("component", std::string());
    const std::string owner = q.value("owner", std::string("control-api"));
    const std::string reason = q.value("reason", std::string());
    const bool dry_run = q.value("dry_run", false);
    const config::ComponentConfig* c = cfg->findComponent(component);
    if (c == nullptr) return done(404, {{"error", "no component '" + component + "'"}});
    if (!dry_run && reason.empty()) return done(400, {{"error", "a failover needs a reason"}});
    if (c->plan.empty()) return done(409, {{"error", component + " has no plan"}});
    if (stopping) return done(409, {{"error", "the daemon is stopping"}});
    if (auto refusal = notLeading("a failover")) return done(409, *refusal);
    if (switchover.running()) return done(409, {{"error", "a switchover runs"}});
    const auto requested = recorder.record(
        "failover_requested", component,
        fmt::format("{}failover of {} asked by {}{}", dry_run ? "dry run of a " : "", component,
                    owner, reason.empty() ? "" : ": " + reason),
        {{"owner", owner}, {"reason", reason}, {"dry_run", dry_run}, {"plan", c->plan}});
    Decision d;
    d.kind = Decision::Kind::FailoverTriggered;
    d.component = component;
    d.at = rt.clock.wallNow();
    d.tier = decide::Tier::Component;
    d.rule = "operator";
    d.plan = c->plan;
    d.reason = fmt::format("asked by {}: {}", owner, reason.empty() ? "-" : reason);
    // Now or not at all (a decided failover that waits, deferred, is never replaced), and
    // never retried by itself: the operator asked once.
    auto request = planRequest(d, requested.id, Admission{}, nullptr, dry_run);
    if (!request) return done(409, {{"error", "not started (see the failover_skipped event)"}});
    std::string why;
    if (!keeper.startNow(std::move(*request), [](const actions::RunReport&) {}, &why)) {
      recorder.record("failover_skipped", component, "plan " + c->plan + " not started: " + why,
                      {{"plan", c->plan}, {"trigger", requested.id}});
      return done(409, {{"error", why}});
    }
    done(202, {{"id", requested.id},
               {"component", component},
               {"dry_run", dry_run},
               {"since", events::formatTimestamp(rt.clock.wallNow() - std::chrono::seconds(1))}});
  }

  // Switchover's hooks.
  std::string switchoverTarget(const config::ComponentConfig& c, const std::string& candidate,
                               std::string* why) {
    auto r = roles.find(c.name);
    if (r == roles.end()) {
      *why = c.name + " has no roles";
      return {};
    }
    if (etcd != nullptr && !etcd->rolesKnown()) {
      *why = "the roles have not been read from etcd";
      return {};
    }
    if (keeper.held(c.name) || runner.running(c.name)) {
      *why = c.name + (keeper.held(c.name) ? " is held for an operator (an interrupted plan: "
                                             "hftguard failover --resume or --abandon)"
                                           : ": a plan runs");
      return {};
    }
    const coord::Roles& now = r->second;
    const std::string to = candidate.empty() ? now.candidate() : candidate;
    if (std::find(now.standbys.begin(), now.standbys.end(), to) == now.standbys.end()) {
      *why = to.empty() ? fmt::format("no standby of {} is ready (fenced: {})", c.name,
                                      fmt::join(now.fenced, ", "))
                        : fmt::format("{} is not a standby of {} (primary {}, standbys {}, "
                                      "fenced {})",
                                      to, c.name, now.primary, fmt::join(now.standbys, ", "),
                                      fmt::join(now.fenced, ", "));
      return {};
    }
    return to;
  }

  std::string switchoverReady(const config::ComponentConfig& c, const std::string& member) {
    auto r = roles.find(c.name);
    if (r == roles.end()) return "no roles";
    if (r->second.watched() != member) {
      return fmt::format("{}'s readiness is not observed: the standby checks watch {}", member,
                         r->second.watched());
    }
    const nlohmann::json s = book.standby(c, r->second);
    if (!s.is_object() || s["ready"].is_null()) {
      return "no standby checks: " + member + "'s readiness is not observed";
    }
    return s["ready"].get<bool>() ? std::string() : s.value("why", std::string("not ready"));
  }

  std::string switchoverRun(const config::ComponentConfig& c, const config::PlanConfig& plan,
                            const std::string& from, const std::string& to, bool move,
                            bool dry_run, const std::string& trigger, Switchover::Then then) {
    auto it = roles.find(c.name);
    if (it == roles.end()) return c.name + " has no roles";
    coord::Roles r = it->second;
    if (move && r.primary != from) {
      return fmt::format("the roles moved: {} is primary now, not {}", r.primary, from);
    }
    // Between the members the switchover named, whatever the roles' order of standbys; a
    // target fenced meanwhile is refused, never swapped for another (unchecked) standby.
    if (auto t = std::find(r.standbys.begin(), r.standbys.end(), to); t != r.standbys.end()) {
      std::rotate(r.standbys.begin(), t, t + 1);
    } else if (move) {
      return fmt::format("{} is no longer a standby of {} (standbys {}, fenced {})", to, c.name,
                         fmt::join(r.standbys, ", "), fmt::join(r.fenced, ", "));
    }
    actions::RunRequest request;
    request.kind = move ? "failover" : "switchover_checks";
    request.component = c.name;
    request.plan = &plan;
    request.rto_target = c.rto_target;
    request.trigger = trigger;
    request.dry_run = dry_run;
    request.rto_from = "the switchover's plan start";
    request.switchover = trigger;
    request.context = {c.name, cfg->node.name, from, to, {}, {}, "switchover " + trigger};
    if (move) {
      if (std::string why = fillFromRoles(c, r, request.context); !why.empty()) return why;
    } else {  // checks run between the same two members, before and after the move
      request.context.members.clear();
      for (auto [role, name] : {std::pair{"old_primary", from}, {"new_primary", to}}) {
        if (const config::MemberConfig* m = c.findMember(name)) {
          for (const auto& [k, v] : m->values) request.context.members[fmt::format("{}.{}", role, k)] = v;
        }
      }
    }
    if (move && !dry_run) {
      if (etcd != nullptr) {
        etcdRoles(c, request, trigger, false);
        request.admit = [this, &c, ctx = request.context]() -> std::string {
          auto now = etcd->roles(c.name);
          return now ? sameRoles(*now, ctx, false, true) : "the roles have not been read from etcd";
        };
      } else {
        request.admit = admitSameRoles(c, state_file, request.context, false, true);
        request.commit = commitToFile(c, state_file, rt.workers, rt.clock, trigger,
                                      [this, &c](const coord::Roles& after) {
                                        adoptRoles(c, after, "a switchover");
                                      });
      }
    }
    std::string why;
    if (!keeper.startNow(std::move(request), std::move(then), &why)) {
      return why.empty() ? std::string("it could not start") : why;
    }
    return {};
  }

  // --- reload: SIGHUP and POST /reload ---

  // The file is read and validated off the loop; back on it, a reload only a restart can
  // apply, or one that would land in the middle of a plan, is refused whole (recorded as
  // config_reload_failed; the running config stays). Otherwise every part goes on under the
  // new config at once (config_reloaded), keeping what the unchanged checks have counted.
  void reload(const std::string& by, ControlSurface::Done done) {
    if (reloading) return done(409, {{"error", "a reload is in progress"}});
    if (stopping) return done(409, {{"error", "the daemon is stopping"}});
    reloading = true;
    notifier.reloading();
    spdlog::info("{}: reloading {}", by, cfg->source_path);
    control_work.submit([this, path = cfg->source_path, by,
                         done]() -> net::WorkerPool::Continuation {
      auto loaded = std::make_shared<config::LoadResult>(config::loadConfigFile(path));
      return [this, loaded, by, done] {
        reloading = false;
        applyReload(*loaded, by, done);
        notifier.ready(statusLine());
      };
    });
  }

  void applyReload(const config::LoadResult& loaded, const std::string& by,
                   const ControlSurface::Done& done) {
    const std::string path = cfg->source_path;
    auto refuse = [&](int status, const std::string& reason, nlohmann::json fields) {
      fields["by"] = by;
      fields["config"] = path;
      recorder.record("config_reload_failed", "", reason, fields);
      spdlog::error("reload refused: {}", reason);
      fields["error"] = reason;
      done(status, fields);
    };
    if (!loaded.ok()) {
      std::vector<std::string> errors;
      for (const auto& e : loaded.errors) errors.push_back(e.format());
      for (const auto& e : errors) spdlog::error("reload: {}", e);
      return refuse(422,
                    fmt::format("{} is not valid ({} error{}); the running config stays", path,
                                errors.size(), errors.size() == 1 ? "" : "s"),
                    {{"errors", errors}});
    }
    const config::ReloadDiff diff = config::diffForReload(*cfg, *loaded.config);
    if (!diff.restart_only.empty()) {
      return refuse(409,
                    fmt::format("only a restart applies {}; the running config stays",
                                fmt::join(diff.restart_only, ", ")),
                    {{"restart_only", diff.restart_only}});
    }
    if (std::string busy = busyWith(); !busy.empty()) {
      return refuse(409,
                    busy + ": a reload never lands in the middle of a failover; the running "
                           "config stays (reload again once it has ended)",
                    {{"busy", busy}});
    }
    if (!diff.changes.empty()) swapConfig(loaded.config);
    const std::string reason =
        diff.changes.empty() ? fmt::format("{} reloaded: nothing changed", path)
                             : fmt::format("{} reloaded: {}", path, fmt::join(diff.changes, "; "));
    recorder.record("config_reloaded", "", reason,
                    {{"by", by}, {"config", path}, {"changes", diff.changes}});
    spdlog::info("{}", reason);
    done(200, {{"reloaded", true}, {"config", path}, {"changes", diff.changes}});
  }

  // What a reload must not land in the middle of ("" nothing).
  std::string busyWith() const {
    if (switchover.running()) return "a switchover runs";
    for (const auto& c : cfg->components) {
      if (runner.running(c.name)) return "a plan runs for " + c.name;
    }
    if (std::string why = keeper.busyWith(); !why.empty()) return why;
    if (guard) return guard->busyWith();
    return {};
  }

  // Every part that holds the config goes on with `next`. The config before is kept for the
  // daemon's life: what was made from it (a probe of an unchanged check, a delivery in
  // flight, a Sentinel subscription) still reads it, and it is equal where that matters.
  void swapConfig(std::shared_ptr<const config::Config> next) {
    // What the new config no longer has leaves /metrics: its checks' series, and every
    // series of a component removed whole.
    for (const auto& c : cfg->components) {
      const config::ComponentConfig* now = next->findComponent(c.name);
      if (now == nullptr) {
        telemetry.metrics().forget({{"component", c.name}});
        continue;
      }
      for (const auto& k : c.checks) {
        if (now->findCheck(k.name) == nullptr) {
          telemetry.metrics().forget({{"component", c.name}, {"check", k.name}});
        }
      }
    }
    retired.push_back(cfg);
    cfg = std::move(next);
    decider.reconfigure(*cfg);
    std::vector<probes::CheckRef> refs;
    for (const auto& c : cfg->components) {
      auto r = roles.find(c.name);
      const auto variants = r == roles.end() ? std::vector<const config::CheckConfig*>{}
                                             : c.checksFor(r->second.primary, r->second.watched());
      for (std::size_t j = 0; j < c.checks.size(); ++j) {
        const bool roleVariant = j < variants.size() && variants[j] != nullptr;
        refs.push_back({&c, roleVariant ? variants[j] : &c.checks[j]});
      }
    }
    scheduler.reconfigure(*cfg, refs);
    keeper.rebind(*cfg);
    dispatcher.rebind(*cfg);
    surface->rebind(*cfg);
    if (guard) guard->rebind(*cfg);
    std::erase_if(standing_by, [&](const auto& p) { return cfg->findComponent(p.first) == nullptr; });
    std::erase_if(waiting_in_maintenance,
                  [&](const auto& name) { return cfg->findComponent(name) == nullptr; });
    if (log_level_override.empty()) {
      if (auto level = parseLogLevel(cfg->log_level)) spdlog::set_level(*level);
    }
    // Windows of a component added now apply at once; those of one removed go with it.
    std::erase_if(applied, [&](const auto& w) {
      return !w.component.empty() && cfg->findComponent(w.component) == nullptr;
    });
    syncMaintenance();
    if (etcd != nullptr) reportToCluster();
  }

  // systemd's STATUS=: "3 components: 2 healthy, 1 failed; leads cluster c; paused".
  std::string statusLine() {
    std::map<std::string, int> by;
    for (const auto& c : cfg->components) ++by[std::string(decide::toString(decider.health(c.name)))];
    std::string health;
    for (const auto& [h, n] : by) health += fmt::format("{}{} {}", health.empty() ? "" : ", ", n, h);
    std::string out = fmt::format("{} components: {}", cfg->components.size(), health);
    if (etcd != nullptr) {
      const std::string leader = etcd->leader();
      out += etcd->leading() ? "; leads cluster " + cfg->coordination.cluster
                             : "; leader " + (leader.empty() ? std::string("none") : leader);
    }
    const WallTime wall = rt.clock.wallNow();
    if (std::any_of(applied.begin(), applied.end(),
                    [&](const auto& w) { return control::isPause(w) && w.expires > wall; })) {
      out += "; PAUSED";
    }
    for (const auto& c : cfg->components) {
      if (runner.running(c.name)) out += "; failing over " + c.name;
    }
    return out;
  }

  void tick() {
    ticker.expires_after(std::chrono::seconds(1));
    ticker.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      syncMaintenance();
      syncRoles();
      if (etcd != nullptr) reportToCluster();
      keeper.tick();
      record(decider.tick(rt.clock.now(), rt.clock.wallNow()));
      takeOverDecisions();
      if (guard) guard->reevaluate();
      for (const auto& a : alert_policy.tick(rt.clock.wallNow())) dispatcher.submit(a);
      notifier.status(statusLine());
      tick();
    });
  }

  void waitForSignal() {
    signals.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {  // logrotate's and systemctl reload's signal
        log.reopen();
        reload("SIGHUP", [](int status, const nlohmann::json& answer) {
          // Refusals are recorded where they are decided; one that was not (a reload already
          // running, the daemon stopping) is at least said.
          if (status == 409 && !answer.contains("busy") && !answer.contains("restart_only")) {
            spdlog::warn("SIGHUP: config not reloaded: {}", answer.value("error", std::string()));
          }
        });
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
      notifier.stopping();
      scheduler.stop();
      for (auto& w : watches) w->stop();
      ticker.cancel();
      waitForSignal();
      // A plan in flight finishes first (within its deadline): no plan is cut off mid-way.
      keeper.stop(stop_timeout, [this, name](const std::string& outcome) {
        // Nothing runs any more: a switchover in flight ends here, its hold released.
        switchover.stop(name + ": the daemon stopped before the switchover ended");
        auto finish = [this, name, outcome] {
          recorder.record("daemon_stopped", "", fmt::format("{}: stopped, {}", name, outcome),
                          {{"signal", name}, {"outcome", outcome}});
          dispatcher.stop();
          surface->stop();
          notifier.stopWatchdog();
          rt.io.stop();
        };
        // The leader resigns (its lease revoked): another daemon takes over at once. Etcd
        // not told that this daemon stops: it fences what it runs first (docs/safety.md).
        if (etcd != nullptr) {
          return etcd->stop([this, finish](const std::string& error) {
            if (!guard) return finish();
            if (error.empty()) return guard->whenIdle(finish);  // a self-fence ends first
            guard->fenceBeforeExit(error, etcd->leaseExpiry(), finish);
          });
        }
        finish();
      });
    });
  }

  std::shared_ptr<const config::Config> cfg;
  std::vector<std::shared_ptr<const config::Config>> retired;  // before each reload
  Duration stop_timeout;
  std::string log_level_override;  // run --log-level: a reload keeps it
  bool reloading = false;
  Runtime rt;
  control::Telemetry telemetry;  // before the log: its writer reports to it
  StatusBook book;
  events::EventLog log;
  Recorder recorder;
  coord::EtcdCoordinator* etcd = nullptr;  // the coordinator, when it is etcd's
  // Failovers decided while another daemon led: component -> (decision, its event id).
  std::map<std::string, std::pair<Decision, std::string>> standing_by;
  std::set<std::string> waiting_in_maintenance;  // left decisions said to wait (said once)
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
  std::vector<control::MaintenanceEntry> cluster_windows;  // etcd's, as last read
  std::vector<control::MaintenanceEntry> file_windows;     // the host file's, as last read
  std::string cluster_error;
  coord::StateFile state_file{stateFilePath(*cfg)};
  std::map<std::string, coord::Roles> roles;  // of the components with members
  bool reading_roles = false;
  std::string roles_error;
  bool stopping = false;
  WallTime started_wall = std::chrono::system_clock::now();
  // The control API's own etcd client (an operator's window change); null without etcd.
  std::unique_ptr<coord::EtcdClient> control_etcd;
  std::unique_ptr<ControlSurface> surface;
  SystemdNotifier notifier{rt.io};
  // The control API's file work, one at a time, off the loop: changes to the host's
  // maintenance file, a reload's read of the config.
  net::WorkerPool control_work{rt.io, 1};
  std::uint64_t window_changes = 0;
  std::map<std::uint64_t, std::function<void(std::string)>> pending_changes;
  // With etcd: quorum and self-fencing. Last: it refers to the members above.
  std::unique_ptr<PartitionGuard> guard;
  Switchover switchover{
      rt.io, rt.clock,
      Switchover::Hooks{
          [this](const std::string& type, const std::string& component, const std::string& reason,
                 nlohmann::json fields) {
            const bool bad = type == "switchover_failed" || type == "switchover_refused" ||
                             (type == "switchover_check" && !fields.value("ok", true));
            spdlog::log(bad ? spdlog::level::warn : spdlog::level::info, "{}: {}", component,
                        reason);
            return recorder.record(type, component, reason, std::move(fields)).id;
          },
          [this](const config::ComponentConfig& c, const std::string& candidate,
                 std::string* why) { return switchoverTarget(c, candidate, why); },
          [this](const config::ComponentConfig& c, const std::string& member) {
            return switchoverReady(c, member);
          },
          [this](const config::ComponentConfig& c, const config::PlanConfig& plan,
                 const std::string& from, const std::string& to, bool move, bool dry_run,
                 const std::string& trigger, Switchover::Then then) {
            return switchoverRun(c, plan, from, to, move, dry_run, trigger, std::move(then));
          },
          [this](const config::ComponentConfig& c) {
            auto r = roles.find(c.name);
            return r == roles.end() ? std::string() : r->second.primary;
          },
          [this](const std::string& component) { return decider.health(component); },
          [this](const config::ComponentConfig& c) { return book.primaryAnsweredOk(c); },
          [this](const std::string& component, const std::string& why) {
            decider.holdForSwitchover(component, why);
          },
          [this](const std::string& component, bool reconsider) {
            decider.releaseSwitchover(component, reconsider);
          }}};
  bool reevaluating = false;
};

Daemon::Daemon(std::shared_ptr<const config::Config> cfg, Duration stop_timeout,
               std::string log_level)
    : impl_(std::make_unique<Impl>(std::move(cfg), stop_timeout, std::move(log_level))) {}
Daemon::~Daemon() = default;

int Daemon::run() {
  Impl& d = *impl_;
  spdlog::info("hftguard {} starting: node {} site {}, {} components, {} checks, events to {}",
               kVersion, d.cfg->node.name, d.cfg->node.site, d.cfg->components.size(),
               d.scheduler.size(), d.cfg->event_log_path);
  d.loadRoles();  // before the first probe: the checks address the primary
  // Before anything runs: a control API that cannot listen (another daemon holds it) stops
  // the start, as an invalid config does.
  if (std::string why = d.surface->start(); !why.empty()) throw std::runtime_error(why);
  spdlog::info("control API on {}", d.surface->where());
  nlohmann::json roles = nlohmann::json::object();
  for (const auto& [name, r] : d.roles) roles[name] = coord::toJson(r);
  d.recorder.record("daemon_started", "",
                    fmt::format("hftguard {} started with {}", kVersion, d.cfg->source_path),
                    {{"version", kVersion},
                     {"config", d.cfg->source_path},
                     {"pid", ::getpid()},
                     {"roles", roles}});
  d.waitForSignal();
  d.keeper.recoverInterrupted();  // before the first probe: a half-done plan holds automation
  d.syncMaintenance();            // windows set while the daemon was down still hold
  d.scheduler.start();
  if (d.etcd != nullptr) d.etcd->start();
  d.startWatches();
  d.tick();
  // Ready once the loop runs the probes; the watchdog is pinged by the loop from then on.
  boost::asio::post(d.rt.io, [&d] {
    d.notifier.ready(d.statusLine());
    d.notifier.startWatchdog();
  });
  d.rt.io.run();
  const auto& stats = d.scheduler.stats();
  spdlog::info("stopped after {} probe runs ({} skipped while busy, {} missed while behind)",
               stats.runs, stats.skipped_busy, stats.skipped_behind);
  return 0;
}

}  // namespace hftguard::cli

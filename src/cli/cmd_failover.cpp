// hftguard failover [--config F] COMPONENT [--dry-run | --resume | --abandon] [--reason TEXT]
// [--json] (each event as a JSON line, as `events --json` prints it):
// runs the component's plan now (an operator's decision, or the confirmation of a
// semi-automatic component). A dry run evaluates every step's preconditions for real,
// changes nothing and takes no lock. A real run journals its progress; a plan interrupted
// part-way (its journal outlived it) is resumed after its last completed step (--resume:
// every remaining step's preconditions are checked first) or dropped (--abandon).
// With `coordination: etcd` the leading daemon runs every plan and resumes an interrupted one
// itself; what an operator does is --abandon a plan the leader could not re-verify (its
// journal in etcd holds the component).
#include <cstdlib>
#include <ostream>

#include <fmt/ostream.h>
#include <spdlog/spdlog.h>

#include "hftguard/actions/plan_journal.hpp"
#include "hftguard/actions/runner.hpp"
#include "hftguard/coord/etcd_coordinator.hpp"
#include "hftguard/core/logging.hpp"

#include "commands.hpp"
#include "plan_keeper.hpp"
#include "recorder.hpp"
#include "roles.hpp"
#include "runtime.hpp"

namespace hftguard::cli {
namespace {

struct Tools {
  Tools(const config::Config& cfg, std::ostream& out, bool asJson)
      : json(asJson),
        rt(cfg),
        log({cfg.event_log_path, static_cast<std::size_t>(cfg.event_queue_limit), nullptr, nullptr,
             &rt.io}),
        recorder(log, cfg.node.name, rt.clock),
        coordinator(localCoordinator(cfg)),
        env{rt.io, rt.http, rt.workers, rt.clock},
        runner(
            env, *coordinator,
            [this, &out](const std::string& type, const std::string& comp,
                         const std::string& reason, nlohmann::json fields) {
              print(out, recorder.record(type, comp, reason, std::move(fields)));
            },
            [this](std::function<void()> then) { recorder.afterDurable(std::move(then)); }) {}

  void print(std::ostream& out, const events::Event& e) const {
    if (json) {
      out << events::toJsonLine(e);
    } else {
      fmt::print(out, "{}  {:<18} {}\n", events::formatTimestamp(e.at), e.type, e.reason);
    }
    out.flush();
  }

  // Runs the request to its end on this thread's loop; nullopt when it could not start.
  // `lock_dir`: a real run's journal there is removed at its end, before its lock is freed.
  // `resumed`: the journal a --resume read before it held the lock.
  std::optional<actions::RunReport> run(actions::RunRequest request, const std::string& lock_dir,
                                        const actions::PlanJournal* resumed = nullptr) {
    std::optional<actions::RunReport> report;
    const bool real = !request.dry_run;
    const std::string component = request.component;
    auto done = [&](const actions::RunReport& r) { report = r; };
    if (real) {
      request.progress = journalTo(lock_dir, request, disk);
      request.tidy = journalRemover(lock_dir, component, disk);
      request.admit = bothAdmit(resumed ? admitSameJournal(lock_dir, *resumed)
                                        : admitWithoutJournal(lock_dir, component),
                                std::move(request.admit));
    }
    if (!runner.start(std::move(request), done)) return std::nullopt;
    while (!report) turn(rt.io, std::chrono::milliseconds(100));  // restarts a loop run dry
    return report;
  }

  bool json;  // --json: print each event as a JSON line
  Runtime rt;
  net::WorkerPool disk{rt.io, 1};  // the plan journal's writes, off the loop
  events::EventLog log;
  Recorder recorder;
  std::unique_ptr<coord::Coordinator> coordinator;
  actions::ActionEnv env;
  actions::FailoverRunner runner;
};

// --abandon: the operator takes the interrupted plan over by hand; its journal goes.
int abandon(const config::Config& cfg, const std::string& name, const actions::PlanJournal& j,
            const std::string& reason, Tools& t, std::ostream& out, std::ostream& err) {
  coord::Grant grant;
  auto lease = t.coordinator->acquire(name, grant);  // not from under a live plan
  if (!lease) {
    err << "hftguard failover: " << grant.reason << "\n";
    return kExitFailed;
  }
  std::string why;
  // What was read before the lock was held may have moved on (another --resume finished it,
  // another --abandon dropped it); an unreadable journal is dropped as it is.
  if (!j.plan.empty()) {
    if (std::string moved = admitSameJournal(lockDir(cfg), j)(); !moved.empty()) {
      err << "hftguard failover: not abandoned: " << moved << "\n";
      return kExitFailed;
    }
  } else if (std::string unreadable; actions::readJournal(lockDir(cfg), name, &unreadable) ||
                                      unreadable.empty()) {
    err << "hftguard failover: not abandoned: the unreadable journal changed meanwhile; look "
           "again\n";
    return kExitFailed;
  }
  if (!actions::removeJournal(lockDir(cfg), name, &why)) {
    err << "hftguard failover: " << why << "\n";
    return kExitFailed;
  }
  t.print(out,
          t.recorder.record(
                   "failover_abandoned", name,
                   fmt::format("plan {} abandoned after {} steps (last done: {}): {}", j.plan,
                               j.steps_done, j.last_step.empty() ? "none" : j.last_step, reason),
                   {{"plan", j.plan},
                    {"trigger", j.trigger},
                    {"steps_done", j.steps_done},
                    {"last_step", j.last_step}}));
  return kExitOk;
}

// --abandon with etcd: the journal at plans/<component> goes, if it is still the one read.
// A plan the leader is still running stops at its next step (its next journal write is
// refused); one it holds is released.
int abandonInEtcd(const config::Config& cfg, const std::string& name, const std::string& reason,
                  bool force, bool json, std::ostream& out, std::ostream& err) {
  Runtime rt(cfg);
  coord::EtcdClient etcd(rt.http, coord::etcdOptions(cfg));
  std::optional<std::string> error;
  std::optional<coord::KeyValue> kv;
  std::string leader;
  coord::readClusterInEtcd(etcd, cfg, [&](std::string e, coord::ClusterView v) {
    leader = v.leader;
    if (v.plans.count(name)) kv = v.plans.at(name);
    error = std::move(e);
  });
  if (!turnUntil(rt.io, [&] { return error.has_value(); })) {
    error = "etcd did not answer within 10 s";
  }
  if (!error->empty()) {
    err << "hftguard failover: " << *error << "\n";
    return kExitFailed;
  }
  if (!kv) {
    err << "hftguard failover: no plan for " << name << " in etcd\n";
    return kExitFailed;
  }
  std::string why;
  auto j = actions::parseJournal(kv->value, name, &why);
  if (!j) {
    j = actions::PlanJournal{};
    j->last_step = "unknown: the journal could not be read (" + why + ")";
  }
  // The leader's own plan may still be running: dropping its journal stops it only after the
  // step in flight, and leaves the component free for a run from the top.
  if (!force && !j->node.empty() && j->node == leader) {
    err << "hftguard failover: not abandoned: the plan is " << j->node
        << "'s, the current leader's - it may still be running (see its events); if it is "
           "held, abandon it with --force\n";
    return kExitFailed;
  }
  error.reset();
  coord::dropPlanInEtcd(etcd, cfg, name, kv->mod_revision,
                        [&](std::string e) { error = std::move(e); });
  if (!turnUntil(rt.io, [&] { return error.has_value(); })) {
    error = "etcd did not answer within 10 s";
  }
  if (!error->empty()) {
    err << "hftguard failover: not abandoned: " << *error << "\n";
    return kExitFailed;
  }
  const std::string what =
      fmt::format("plan {} abandoned after {} steps (last done: {}{}): {}", j->plan, j->steps_done,
                  j->last_step.empty() ? "none" : j->last_step,
                  j->node.empty() ? "" : ", run by " + j->node, reason);
  const nlohmann::json fields = {{"plan", j->plan},
                                 {"trigger", j->trigger},
                                 {"steps_done", j->steps_done},
                                 {"last_step", j->last_step},
                                 {"node", j->node},
                                 {"journal", kv->key}};
  const events::Event e = recordNow(cfg, "failover_abandoned", name, what, fields);
  if (json) {
    out << events::toJsonLine(e);
  } else {
    out << what << "\n";
  }
  return kExitOk;
}

}  // namespace

int cmdFailover(const Args& args, std::ostream& out, std::ostream& err) {
  auto cfg = loadOrReport(args.config, err);
  if (!cfg) return kExitFailed;
  const std::string& name = args.positional.front();
  const config::ComponentConfig* component = cfg->findComponent(name);
  // --abandon: a system-tier plan runs under the name of the component that tipped it, which
  // may have no plan of its own.
  if (component == nullptr || (component->plan.empty() && !args.flag("abandon"))) {
    err << "hftguard failover: "
        << (component ? "component '" + name + "' has no plan" : "no component '" + name + "'")
        << "\n";
    return kExitUsage;
  }
  const bool dry = args.flag("dry-run"), resume = args.flag("resume"), drop = args.flag("abandon");
  if (int(dry) + int(resume) + int(drop) > 1) {
    err << "hftguard failover: --dry-run, --resume and --abandon exclude each other\n";
    return kExitUsage;
  }
  if (args.flag("force") && !drop) {
    err << "hftguard failover: --force goes only with --abandon\n";
    return kExitUsage;
  }
  setupLogging(spdlog::level::warn);
  if (cfg->coordination.type == "etcd" && drop) {
    return abandonInEtcd(*cfg, name,
                         args.option("reason").value_or("abandoned by " + operatorName()),
                         args.flag("force"), args.json(), out, err);
  }
  if (cfg->coordination.type == "etcd" && resume) {
    err << "hftguard failover: with coordination: etcd the leading daemon resumes an interrupted "
           "plan itself, after re-verifying it; one it could not re-verify holds "
        << name << " (see its failover_interrupted event): finish it by hand, then 'hftguard "
        << "failover " << name << " --abandon'\n";
    return kExitFailed;
  }
  try {
    std::string why;
    auto journal = actions::readJournal(lockDir(*cfg), name, &why);
    if (!journal && !why.empty()) {
      // Unreadable (a power cut may leave it empty on some file systems): it still holds the
      // component; --abandon is how an operator clears it, never --resume.
      if (!drop) {
        err << "hftguard failover: " << why << "; drop it with --abandon after checking the "
            << "stack by hand\n";
        return kExitFailed;
      }
      journal = actions::PlanJournal{};
      journal->component = name;
      journal->last_step = "unknown: the journal could not be read (" + why + ")";
    }
    if ((resume || drop) && !journal) {
      err << "hftguard failover: no interrupted plan for " << name << "\n";
      return kExitFailed;
    }
    if (journal && !dry && !resume && !drop) {
      err << "hftguard failover: a plan for " << name << " stopped after step "
          << journal->steps_done << " (" << journal->last_step << "); continue it with --resume "
          << "or drop it with --abandon\n";
      return kExitFailed;
    }
    Tools t(*cfg, out, args.json());
    const char* user = std::getenv("SUDO_USER") ? std::getenv("SUDO_USER") : std::getenv("USER");
    const std::string reason =
        args.option("reason").value_or(fmt::format("{} by {}",
                                                   resume ? "resumed"
                                                   : drop ? "abandoned"
                                                          : "manual failover",
                                                   user ? user : "operator"));
    if (drop) return abandon(*cfg, name, *journal, reason, t, out, err);
    actions::RunRequest request;
    request.component = name;
    request.plan = cfg->findPlan(journal ? journal->plan : component->plan);
    request.rto_target = component->rto_target;
    request.context = {name, cfg->node.name, component->primary, component->standby, {},
                       {},   reason};
    const coord::StateFile state(stateFilePath(*cfg));
    if (!component->members.empty() && !resume) {  // between the roles as they stand now
      std::string bad;
      auto roles = currentRoles(*component, state, &bad);
      if (roles) bad = fillFromRoles(*component, *roles, request.context);
      if (!bad.empty()) {
        err << "hftguard failover: not started: " << bad << "\n";
        return kExitFailed;
      }
      request.admit = admitSameRoles(*component, state, request.context, false);
    }
    if (resume) {
      if (request.plan == nullptr) {
        err << "hftguard failover: the interrupted plan '" << journal->plan << "' is gone\n";
        return kExitFailed;
      }
      request.context.old_primary = journal->old_primary;  // what the first steps found out
      request.context.new_primary = journal->new_primary;
      request.context.old_primary_fenced = journal->old_primary_fenced;
      request.context.fence_failed = journal->fence_failed;
      request.context.switched = journal->switched;
      request.context.epoch = journal->epoch;
      request.context.members = journal->members;
      if (!component->members.empty() && journal->epoch != 0) {
        request.admit = admitSameRoles(*component, state, request.context, true);
      }
      // The plan may have been edited since: resume only where the same step was last done.
      const auto& steps = request.plan->steps;
      if (journal->steps_done > steps.size() ||
          (journal->steps_done > 0 && steps[journal->steps_done - 1].name != journal->last_step)) {
        err << "hftguard failover: not resumed: plan " << journal->plan
            << " has changed since it was interrupted (step " << journal->steps_done
            << " is no longer '" << journal->last_step << "'); finish it by hand and --abandon\n";
        return kExitFailed;
      }
      request.first_step = journal->steps_done;
      request.trigger = journal->trigger;
      // Every remaining step's preconditions first: nothing moves unless they all hold.
      request.dry_run = true;
      auto checked = t.run(request, lockDir(*cfg));
      if (!checked || !checked->ok) {
        err << "hftguard failover: not resumed: the remaining steps' preconditions do not hold"
            << (checked ? ": " + checked->reason : "") << "\n";
        return kExitFailed;
      }
    }
    request.dry_run = dry;
    if (!component->members.empty() && !dry) {
      request.commit = commitToFile(*component, state, t.disk, t.rt.clock, request.trigger,
                                    [](const coord::Roles&) {});
    }
    auto report = t.run(request, lockDir(*cfg), resume ? &*journal : nullptr);
    return report && report->ok ? kExitOk : kExitFailed;
  } catch (const std::runtime_error& e) {
    err << "hftguard failover: " << e.what() << "\n";
    return kExitFailed;
  }
}

}  // namespace hftguard::cli

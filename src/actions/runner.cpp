#include "hftguard/actions/runner.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "hftguard/events/event.hpp"

namespace hftguard::actions {
namespace {

double ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

struct FailoverRunner::Run : std::enable_shared_from_this<Run> {
  Run(FailoverRunner& r, RunRequest req, std::function<void(const RunReport&)> d)
      : runner(r), request(std::move(req)), done(std::move(d)), deadline(r.env_.io) {
    report.plan = request.plan->name;
    report.followed = request.context.switched;
    report.resumed = request.first_step > 0;
  }

  FailoverRunner& runner;
  RunRequest request;
  std::function<void(const RunReport&)> done;
  std::unique_ptr<coord::Lease> lease;
  std::unique_ptr<Action> action;
  boost::asio::steady_timer deadline;
  std::size_t step = 0;
  int attempt = 0;
  std::uint64_t token = 0;  // each attempt's callbacks carry it; stale ones are ignored
  SteadyTime started{};
  SteadyTime step_started{};
  WallTime started_wall{};
  RunReport report;
  bool interrupted = false;  // interrupt() ended it: an attempt's posted end is ignored
  bool tidying = false;      // its outcome is recorded; it ends and tidies up (journal)
  int writing = 0;           // journal writes asked for and not yet done
  std::size_t journal_steps = 0;  // the steps passed, as the latest of them says
  std::unique_ptr<coord::Lease> lease_until_written;  // interrupted while a write was queued
  bool progress_refused = false;  // the latest progress was not kept (RunRequest::progress)

  const config::StepConfig& current() const { return request.plan->steps[step]; }

  void record(const std::string& type, const std::string& reason, nlohmann::json fields) {
    fields["plan"] = request.plan->name;
    if (request.dry_run) fields["dry_run"] = true;
    if (!request.switchover.empty()) fields["switchover"] = request.switchover;
    runner.record_(type, request.component, reason, std::move(fields));
  }

  // A step is reported done (the next starts, the plan ends) once its event is on disk.
  void afterDurable(void (Run::*next)()) {
    if (!runner.durable_) return (this->*next)();
    runner.durable_([self = shared_from_this(), mine = token, next] {
      if (mine == self->token) ((*self).*next)();
    });
  }

  // The plan's journal (real runs): kept before the step's work is reported, then `next`.
  void progress(std::size_t steps_done, const std::string& last_step, std::function<void()> next) {
    if (request.dry_run || !request.progress) return next();
    ++writing;
    journal_steps = steps_done;
    request.progress(steps_done, last_step, request.context,
                     [self = shared_from_this(), mine = token,
                      next = std::move(next)](const std::string& error) {
                       // An interrupted run kept its lock until this write landed.
                       if (--self->writing == 0) self->lease_until_written.reset();
                       if (mine != self->token || self->interrupted) return;
                       if (error.empty()) return next();
                       self->progress_refused = true;
                       self->leave();
                       self->stopHere("its progress could not be recorded: " + error);
                     });
  }

  // Out of the runner's table (runs_ may hold the last reference: the caller keeps one).
  void leave() {
    auto it = runner.runs_.find(request.component);
    if (it != runner.runs_.end() && it->second.get() == this) runner.runs_.erase(it);
  }

  void startStep() {
    if (step == request.plan->steps.size()) return complete();
    const auto& s = current();
    std::string thrown;  // an action that throws is a failed step, never a crash of the loop
    std::string description;
    try {
      action = makeAction(s, request.context, runner.env_);
      if (action) description = action->describe();
    } catch (const std::exception& e) {
      action.reset();
      thrown = e.what();
    }
    attempt = 0;
    record("step_started",
           fmt::format("step {} ({}): {}", s.name, s.action, action ? description : "?"),
           {{"step", s.name},
            {"action", s.action},
            {"index", step + 1},
            {"description", description}});
    if (!action) {
      return stepFailed(thrown.empty() ? fmt::format("no action kind '{}'", s.action)
                                       : "the step could not be built: " + thrown,
                        Duration::zero());
    }
    startAttempt();
  }

  void stopHere(const std::string& why);

  void startAttempt() {
    const auto& s = current();
    // A coordinator's lease (the etcd leader's) must outlast the attempt's deadline, or the
    // attempt could still act after another daemon took over: stop here instead, resumable.
    if (!request.dry_run && lease) {
      if (std::string why = lease->holds(s.timeout); !why.empty()) {
        const auto keep = shared_from_this();  // runs_ may hold the last reference
        leave();
        return stopHere("this daemon may no longer act: " + why);
      }
    }
    ++attempt;
    const std::uint64_t mine = ++token;
    step_started = runner.env_.clock.now();
    deadline.expires_after(s.timeout);
    auto self = shared_from_this();
    deadline.async_wait([self, mine](boost::system::error_code ec) {
      if (ec || mine != self->token) return;
      self->action->cancel();
      const std::string seen = self->action->lastSeen();
      self->attemptEnded(mine, ActionResult::failure(fmt::format(
                                   "timed out after {}{}", formatDuration(self->current().timeout),
                                   seen.empty() ? "" : "; last seen: " + seen)));
    });
    auto cb = [self, mine](ActionResult r) { self->attemptEnded(mine, std::move(r)); };
    try {
      request.dry_run ? action->check(cb) : action->run(cb);
    } catch (const std::exception& e) {
      action->cancel();  // whatever it started before it threw is dropped
      attemptEnded(mine, ActionResult::failure(std::string("the action threw: ") + e.what()));
    }
  }

  // Always posted: the action whose callback this is may not be destroyed inside it.
  void attemptEnded(std::uint64_t mine, ActionResult result) {
    if (mine != token) return;
    ++token;
    deadline.cancel();
    const Duration took = runner.env_.clock.now() - step_started;
    boost::asio::post(runner.env_.io, [self = shared_from_this(), result = std::move(result),
                                       took] { self->afterAttempt(result, took); });
  }

  // A fence's final outcome is evidence for the promotions after it; one that ran out of
  // time failed. on_failure: continue does not erase a failed fence.
  void noteFence(const ActionResult& r) {
    std::optional<bool> fenced = r.fenced;
    if (!fenced && current().action == "fence") fenced = r.ok;
    if (fenced)
      (*fenced ? request.context.old_primary_fenced : request.context.fence_failed) = true;
  }

  void afterAttempt(const ActionResult& result, Duration took) {
    if (interrupted) return;
    const auto& s = current();
    if (result.ok || attempt > s.retries) noteFence(result);
    if (result.ok) {
      nlohmann::json fields = {{"step", s.name},
                               {"action", s.action},
                               {"duration_ms", ms(took)},
                               {"attempts", attempt},
                               {"result", result.detail}};
      // What the step found out is what later steps' placeholders mean from now on.
      if (result.old_primary)
        fields["old_primary"] = request.context.old_primary = *result.old_primary;
      if (result.new_primary)
        fields["new_primary"] = request.context.new_primary = *result.new_primary;
      return progress(step + 1, s.name, [this, fields = std::move(fields), took, result] {
        const auto& passed = current();
        record("step_done",
               fmt::format("step {} done in {:.1f}ms: {}", passed.name, ms(took), result.detail),
               fields);
        ++step;
        afterDurable(&Run::startStep);
      });
    }
    if (attempt <= s.retries) {
      const Duration wait = s.backoff * (1LL << std::min(attempt - 1, 20));
      record("step_failed",
             fmt::format("step {} attempt {} failed: {}; retrying in {}", s.name, attempt,
                         result.detail, formatDuration(wait)),
             {{"step", s.name},
              {"action", s.action},
              {"duration_ms", ms(took)},
              {"attempt", attempt},
              {"error", result.detail},
              {"retrying", true}});
      deadline.expires_after(wait);
      const std::uint64_t mine = ++token;
      deadline.async_wait([self = shared_from_this(), mine](boost::system::error_code ec) {
        if (!ec && mine == self->token) self->startAttempt();
      });
      return;
    }
    stepFailed(result.detail, took);
  }

  void stepFailed(const std::string& why, Duration took) {
    const auto& s = current();
    if (s.action == "fence") request.context.fence_failed = true;  // also one that never ran
    const bool carryOn = s.on_failure == config::OnFailure::Continue;
    record("step_failed",
           fmt::format("step {} failed after {} attempt{}: {}{}", s.name, attempt,
                       attempt == 1 ? "" : "s", why, carryOn ? " (on_failure: continue)" : ""),
           {{"step", s.name},
            {"action", s.action},
            {"duration_ms", ms(took)},
            {"attempt", attempt},
            {"error", why},
            {"retrying", false},
            {"on_failure", config::toString(s.on_failure)}});
    if (carryOn) {
      return progress(step + 1, s.name, [this] {
        ++step;
        afterDurable(&Run::startStep);
      });
    }
    report.failed_step = s.name;
    report.reason = why;
    if (request.dry_run || !request.failing) return finish(false);
    ++writing;
    request.failing(s.name, why, request.context,
                    [self = shared_from_this(), mine = token](const std::string& error) {
                      if (--self->writing == 0) self->lease_until_written.reset();
                      if (mine != self->token || self->interrupted) return;
                      if (error.empty()) return self->finish(false);
                      // Not recorded as failed: a deposed leader's plan is interrupted, and
                      // the next leader re-verifies its failed step; this daemon holds it.
                      self->leave();
                      self->report.failure_unrecorded = true;
                      self->stopHere("its failure could not be recorded: " + error);
                    });
  }

  void complete() { finish(true); }

  void finish(bool ok) {
    report.ok = ok;
    report.dry_run = request.dry_run;
    report.duration = runner.env_.clock.now() - started;
    const WallTime end = runner.env_.clock.wallNow();
    nlohmann::json f = {{"duration_ms", ms(report.duration)},
                        {"steps", request.plan->steps.size()},
                        {"plan", request.plan->name}};
    if (!request.trigger.empty()) f["trigger"] = request.trigger;
    if (request.dry_run) f["dry_run"] = true;  // checked, changed nothing: not a failover
    if (ok && !request.dry_run) {
      const WallTime from = request.first_failure.value_or(started_wall);
      report.rto = std::chrono::duration_cast<Duration>(end - from);
      f["rto_ms"] = ms(*report.rto);
      f["rto_target_ms"] = ms(request.rto_target);
      f["rto_met"] = request.rto_target <= Duration::zero() || *report.rto <= request.rto_target;
      f["rto_from"] = request.first_failure ? request.rto_from : "plan start";
    }
    tidying = true;  // over: a stop from now on lets it record its end and let go
    if (ok && !request.dry_run && request.commit) {
      request.commit(request.context, [self = shared_from_this(), f](std::string error,
                                                                     nlohmann::json extra) mutable {
        f.update(extra);
        if (!error.empty()) f["roles_error"] = error;
        if (!error.empty()) {  // the steps' work stands; the run did not end where it should
          self->report.ok = false;
          self->report.reason = "the roles were not moved: " + error;
          self->report.roles_unmoved = true;
        }
        self->recordEnd(true, std::move(f));
      });
      return;
    }
    recordEnd(ok, std::move(f));
  }

  void recordEnd(bool ok, nlohmann::json f) {
    if (ok) {
      const std::string roles =
          f.contains("roles_error")
              ? "; roles NOT moved: " + f["roles_error"].get<std::string>()
              : f.contains("new_primary") && f.contains("epoch")
                    ? fmt::format("; {} is primary at epoch {}",
                                  f["new_primary"].get<std::string>(), f["epoch"].dump())
                    : std::string();
      record(request.kind + "_completed",
             request.dry_run
                 ? fmt::format("dry run of {}: every step's preconditions hold", request.plan->name)
                 : fmt::format("{} completed in {:.0f}ms, RTO {:.0f}ms (target {}){}",
                               request.plan->name, ms(report.duration), ms(*report.rto),
                               formatDuration(request.rto_target), roles),
             f);
    } else {
      f["failed_step"] = report.failed_step;
      record(request.kind + "_failed",
             fmt::format("{} failed at step {}: {}", request.plan->name, report.failed_step,
                         report.reason),
             f);
    }
    afterDurable(&Run::ended);
  }

  void ended() {
    // The run stays in runs_ (running, not idle) until its journal is gone and its lock
    // released: a trigger meanwhile is "this daemon's plan runs", a SIGTERM waits for it.
    // What the caller tidies (the plan's journal) is never seen by another process without
    // the lock held.
    auto release = [self = shared_from_this()] {
      auto it = self->runner.runs_.find(self->request.component);
      if (it != self->runner.runs_.end() && it->second == self) self->runner.runs_.erase(it);
      auto held = std::move(self->lease);
      if (self->done) self->done(self->report);
    };
    // A run whose roles were not moved keeps its journal: what is left of it is the commit.
    if (request.dry_run || !request.tidy || report.roles_unmoved) return release();
    request.tidy(release);
  }
};

void FailoverRunner::interrupt(const std::string& why) {
  std::map<std::string, std::shared_ptr<Run>> runs;
  for (auto it = runs_.begin(); it != runs_.end();) {
    if (it->second->tidying) {  // ended: it only removes its journal, then lets go
      ++it;
      continue;
    }
    runs.insert(*it);
    it = runs_.erase(it);
  }
  for (auto& [component, run] : runs) run->stopHere(why);
}

void FailoverRunner::Run::stopHere(const std::string& why) {
  ++token;  // no callback of the action in flight is heeded from now on
  interrupted = true;
  deadline.cancel();
  if (action) action->cancel();
  const std::size_t at = step;
  nlohmann::json f = {{"steps_done", at},
                      {"steps", request.plan->steps.size()},
                      {"last_step", at == 0 ? "" : request.plan->steps[at - 1].name}};
  std::string journal;
  if (writing > 0) f["journal_pending"] = true;
  if (progress_refused && journal_steps > at) {  // step at + 1 did its work, unrecorded
    journal = fmt::format(" (step {}'s work was done; its progress was not recorded)", at + 1);
  } else if (writing > 0 && journal_steps > at) {  // step at + 1 did its work
    journal = fmt::format(" (step {}'s work was done; the journal will say so, its step_done "
                          "was not recorded)",
                          at + 1);
  }
  record(request.kind + "_interrupted",
         fmt::format("{} interrupted before step {} of {}{}: {}", request.plan->name, at + 1,
                     request.plan->steps.size(), journal, why),
         std::move(f));
  report.interrupted = true;
  report.reason = why;
  report.duration = runner.env_.clock.now() - started;
  if (done) done(report);
  // A journal write still queued keeps the lock until it lands: nobody else may see the
  // journal change without the lock held.
  if (writing > 0) {
    lease_until_written = std::move(lease);
  } else {
    lease.reset();
  }
}

FailoverRunner::FailoverRunner(ActionEnv& env, coord::Coordinator& coordinator, Record record,
                               Durable durable)
    : env_(env),
      coordinator_(coordinator),
      record_(std::move(record)),
      durable_(std::move(durable)) {}

FailoverRunner::~FailoverRunner() {
  for (auto& [component, run] : runs_) {
    run->interrupted = true;  // an attempt's end already posted must not reach this runner
    ++run->token;
    run->deadline.cancel();
    if (run->action) run->action->cancel();
  }
}

bool FailoverRunner::running(const std::string& component) const {
  return runs_.count(component) > 0;
}

bool FailoverRunner::ending(const std::string& component) const {
  auto it = runs_.find(component);
  return it != runs_.end() && it->second->tidying;
}

bool FailoverRunner::start(RunRequest request, std::function<void(const RunReport&)> done,
                           std::string* refused) {
  const std::string component = request.component;
  // Not started is not failed: the plan that runs (or the holder of the lock, an operator's
  // `hftguard failover` or another host) has the component; the caller decides what next.
  auto refuse = [&](const std::string& why, nlohmann::json f) {
    f["plan"] = request.plan->name;
    if (!request.switchover.empty()) f["switchover"] = request.switchover;
    if (refused != nullptr) {
      *refused = why;
    } else {
      record_(request.kind + "_skipped", component,
              fmt::format("plan {} not started: {}", request.plan->name, why), std::move(f));
    }
    return false;
  };
  if (running(component)) return refuse("a plan already runs for " + component, {});
  coord::Grant grant;
  std::unique_ptr<coord::Lease> lease;
  if (request.dry_run) {
    grant = {true, "dry-run", "dry run: no lock taken, nothing changed"};
  } else {
    lease = coordinator_.acquire(component, grant);
    if (!lease) {
      return refuse(
          fmt::format("the {} coordinator refused: {}", coordinator_.name(), grant.reason),
          {{"coordinator", coordinator_.name()}});
    }
    if (request.admit) {
      if (std::string why = request.admit(); !why.empty()) return refuse(why, {});  // unlocks
    }
    // Not started at all (deferred, retried) rather than stopped at its first step when the
    // coordinator's lease cannot outlast that step right now (a renewal is due).
    const auto& steps = request.plan->steps;
    if (const std::size_t first = std::min(request.first_step, steps.size());
        first < steps.size()) {
      if (std::string why = lease->holds(steps[first].timeout); !why.empty()) {
        return refuse(why, {{"coordinator", coordinator_.name()}});
      }
    }
  }
  auto run = std::make_shared<Run>(*this, std::move(request), std::move(done));
  run->lease = std::move(lease);
  run->started = env_.clock.now();
  run->started_wall = env_.clock.wallNow();
  run->request.context.fencing_token = grant.fencing_token;
  run->request.context.timestamp = events::formatTimestamp(run->started_wall);
  runs_[component] = run;
  nlohmann::json f = {{"coordinator", coordinator_.name()},
                      {"fencing_token", grant.fencing_token},
                      {"plan", run->request.plan->name},
                      {"steps", run->request.plan->steps.size()}};
  if (run->request.dry_run) f["dry_run"] = true;
  if (!run->request.trigger.empty()) f["trigger"] = run->request.trigger;
  if (run->request.first_failure)
    f["first_failure"] = events::formatTimestamp(*run->request.first_failure);
  run->step = std::min(run->request.first_step, run->request.plan->steps.size());
  if (run->step > 0) f["resumed_after"] = run->step;
  run->record(
      run->request.kind + "_started",
      fmt::format("{}plan {} for {} ({} steps{}); {}", run->request.dry_run ? "dry run of " : "",
                  run->request.plan->name, component, run->request.plan->steps.size(),
                  run->step > 0 ? fmt::format(", resumed after step {}", run->step) : "",
                  grant.reason),
      f);
  run->progress(run->step, run->step == 0 ? "" : run->request.plan->steps[run->step - 1].name,
                [r = run.get()] { r->startStep(); });
  return true;
}

}  // namespace hftguard::actions

#include "plan_keeper.hpp"
#include "roles.hpp"

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "hftguard/actions/plan_journal.hpp"
#include "hftguard/events/event.hpp"

namespace hftguard::cli {
namespace {

constexpr auto kRetryEvery = std::chrono::milliseconds(100);
// How long a deferred plan may wait when the component has no RTO target.
constexpr Duration kDefaultDeferBound = std::chrono::seconds(30);

double ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
Duration roundMs(Duration d) { return std::chrono::round<std::chrono::milliseconds>(d); }

}  // namespace

void journalProgress(actions::PlanJournal& j, std::size_t steps_done, const std::string& last_step,
                     const actions::PlanContext& ctx) {
  j.old_primary = ctx.old_primary;
  j.new_primary = ctx.new_primary;
  j.fencing_token = ctx.fencing_token;
  j.reason = ctx.reason;
  if (j.started.empty()) j.started = ctx.timestamp;  // a taken-over plan keeps its start
  j.steps_done = steps_done;
  j.last_step = last_step;
  j.old_primary_fenced = ctx.old_primary_fenced;
  j.fence_failed = ctx.fence_failed;
  j.self_fenced = ctx.self_fenced;
  j.switched = ctx.switched;
  j.epoch = ctx.epoch;
  j.members = ctx.members;
}

decltype(actions::RunRequest::progress) journalTo(std::string lock_dir,
                                                 const actions::RunRequest& request,
                                                 net::WorkerPool& disk) {
  actions::PlanJournal base;
  base.component = request.component;
  base.plan = request.plan->name;
  base.trigger = request.trigger;
  base.pid = static_cast<long>(::getpid());
  return [dir = std::move(lock_dir), base, &disk, started = std::make_shared<bool>(false)](
             std::size_t done, const std::string& last,
                                                  const actions::PlanContext& ctx,
                                                  actions::RunRequest::Kept written) {
    actions::PlanJournal j = base;
    journalProgress(j, done, last, ctx);
    // On the disk thread: a stalled disk holds this plan (it waits for its journal) but never
    // the loop and its probes. The plan's first journal is durable before its first step
    // (a plan in flight is known after a power cut). Later ones are renamed into place
    // before the plan goes on - the daemon killed at any moment finds the last step passed -
    // and fsync'd right after, without holding the plan: a power cut in that moment (a few
    // ms) leaves the journal one step behind, and --resume runs that step again (every
    // action verifies its own outcome; --resume checks preconditions first).
    const bool first = !*started;
    *started = true;
    disk.submit([dir, j, first, written = std::move(written)] {
      std::string why;
      bool ok = false;
      try {  // the run waits for `written`: it must come back whatever happens here
        ok = actions::writeJournal(dir, j, &why, first);
      } catch (const std::exception& e) {
        why = e.what();
      }
      if (!ok) {
        spdlog::error("{}: plan journal not written ({}): a crash now would not be recognised",
                      j.component, why);
      }
      return net::WorkerPool::Continuation([written] { written(""); });
    });
    if (!first) {
      disk.submit([dir, component = j.component] {
        std::string why;
        if (!actions::syncJournal(dir, component, &why))
          spdlog::error("{}: plan journal not synced to disk: {}", component, why);
        return net::WorkerPool::Continuation();
      });
    }
  };
}

decltype(actions::RunRequest::tidy) journalRemover(std::string lock_dir, std::string component,
                                                   net::WorkerPool& disk) {
  return [dir = std::move(lock_dir), component = std::move(component),
          &disk](actions::RunRequest::Written written) {
    disk.submit([dir, component, written = std::move(written)] {
      std::string why;
      bool ok = false;
      try {  // the lock is let go only after `written`: it must come back
        ok = actions::removeJournal(dir, component, &why);
      } catch (const std::exception& e) {
        why = e.what();
      }
      if (!ok) spdlog::error("{}: plan journal not removed: {}", component, why);
      return net::WorkerPool::Continuation(written);
    });
  };
}

std::function<std::string()> admitWithoutJournal(std::string lock_dir, std::string component) {
  return [dir = std::move(lock_dir), component = std::move(component)]() -> std::string {
    std::string error;
    auto j = actions::readJournal(dir, component, &error);
    if (j) {
      return fmt::format("plan {} for {} was interrupted after {} steps (its journal is there): "
                         "resume it with --resume or drop it with --abandon",
                         j->plan, component, j->steps_done);
    }
    if (!error.empty()) return "the plan journal of " + component + " cannot be read: " + error;
    return {};
  };
}

std::function<std::string()> admitSameJournal(std::string lock_dir, actions::PlanJournal read) {
  return [dir = std::move(lock_dir), read = std::move(read)]() -> std::string {
    std::string error;
    auto now = actions::readJournal(dir, read.component, &error);
    if (!now) {
      return error.empty() ? "the interrupted plan was resumed or abandoned meanwhile"
                           : "the plan journal cannot be read: " + error;
    }
    if (now->plan != read.plan || now->started != read.started || now->pid != read.pid ||
        now->steps_done != read.steps_done || now->last_step != read.last_step) {
      return fmt::format("the interrupted plan moved on meanwhile (now {} steps done, last: {})",
                         now->steps_done, now->last_step);
    }
    return {};
  };
}

PlanKeeper::PlanKeeper(boost::asio::io_context& io, const Clock& clock, const config::Config& cfg,
                       actions::FailoverRunner& runner, coord::Coordinator& coordinator,
                       decide::Decider& decider, std::string lock_dir, Record record,
                       coord::EtcdCoordinator* etcd)
    : io_(io),
      clock_(clock),
      cfg_(&cfg),
      runner_(runner),
      coordinator_(coordinator),
      decider_(decider),
      lock_dir_(std::move(lock_dir)),
      record_(std::move(record)),
      retry_(io),
      stop_timer_(io),
      disk_(io, 1),
      store_(etcd ? makeEtcdPlanStore(*etcd) : makeLocalPlanStore(lock_dir_, disk_)) {}

void PlanKeeper::recoverInterrupted() {
  for (const auto& c : cfg_->components) checkJournal(c.name);
}

void PlanKeeper::checkJournal(const std::string& component) {
  if (!store_->known() || resuming_.count(component)) return;
  std::string error;
  auto j = store_->read(component, &error);
  if (!j && error.empty()) {
    reverify_.erase(component);  // no plan in flight (any more): nothing to re-verify
    return;
  }
  // A live plan (an operator's `hftguard failover`) holds the lock and owns its journal;
  // with etcd, only the leader takes up a plan in flight.
  coord::Grant grant;
  if (!coordinator_.acquire(component, grant)) return;
  if (j && !j->failed.empty()) {  // a failed plan is never resumed: an operator looks
    return hold(component, j,
                "it failed at step " + j->failed + " and its journal was not removed");
  }
  if (j && store_->resumesItself() && resumer_) {
    if (auto r = reverify_.find(component); r != reverify_.end()) {
      // Its remaining steps did not re-verify a moment ago: looked at again after the
      // backoff - that journal only (another plan's starts afresh), and only while the
      // component is still down here: the plan goes on from the previous leader's fence,
      // and an old primary that is back up (restarted) must not get a second primary beside it.
      if (r->second.journal != j->started + "/" + j->node) {
        reverify_.erase(r);
      } else if (clock_.now() < r->second.next) {
        return;
      } else if (const auto h = decider_.health(component);
                 h != decide::Health::Failed && h != decide::Health::Recovering) {
        reverify_.erase(r);
        return hold(component, j,
                    fmt::format("{} is {} now: the interrupted plan's fence is no evidence any "
                                "more, so it is not resumed",
                                component, decide::toString(h)));
      }
    }
    resuming_.insert(component);
    return resumer_(*j);
  }
  hold(component, j, j ? "" : "a plan journal was found but cannot be read (" + error + ")");
}

void PlanKeeper::holdInterrupted(const std::string& component, const std::string& why) {
  resuming_.erase(component);
  std::string error;
  hold(component, store_->read(component, &error), why);
}

void PlanKeeper::hold(const std::string& component, const std::optional<actions::PlanJournal>& j,
                      const std::string& why) {
  const std::string hold = fmt::format(
      "a plan was interrupted part-way; {}drop it with 'hftguard failover {} --abandon'",
      store_->resumesItself() ? "finish it by hand and "
                              : fmt::format("resume it with 'hftguard failover {} --resume' or ",
                                            component),
      component);
  nlohmann::json f = {{"journal", store_->where(component)}};
  std::string what = why;
  if (j) {
    const config::PlanConfig* plan = cfg_->findPlan(j->plan);
    const std::size_t steps = plan ? plan->steps.size() : 0;
    f.update({{"plan", j->plan},
              {"trigger", j->trigger},
              {"steps_done", j->steps_done},
              {"steps", steps},
              {"last_step", j->last_step},
              {"old_primary", j->old_primary},
              {"new_primary", j->new_primary},
              {"fencing_token", j->fencing_token},
              {"started", j->started},
              {"pid", j->pid}});
    if (!j->node.empty()) f["node"] = j->node;
    what = fmt::format("plan {} (started {}{}) was interrupted after {} of {} steps{}{}", j->plan,
                       j->started, j->node.empty() ? "" : " by " + j->node, j->steps_done, steps,
                       j->last_step.empty() ? "" : " (last done: " + j->last_step + ")",
                       why.empty() ? "" : "; " + why);
  }
  record_("failover_interrupted", component, fmt::format("{}; automation held: {}", what, hold),
          std::move(f));
  decider_.holdInterrupted(component, hold);
  held_.insert(component);
}

void PlanKeeper::resume(actions::RunRequest request, const actions::PlanJournal& j) {
  const std::string component = j.component;
  const config::PlanConfig* plan = request.plan;
  actions::RunRequest dry = request;
  dry.dry_run = true;
  std::string refused;
  // Every remaining step's preconditions first (what --resume does): nothing moves unless
  // they all hold.
  const bool started = runner_.start(
      std::move(dry),
      [this, request = std::move(request), j](const actions::RunReport& checked) {
        boost::asio::post(io_, [this, request, j, checked] {  // not inside the runner's callback
          const std::string& c = j.component;
          running_until_.erase(c);
          if (held(c)) {  // held meanwhile (its own failure, unrecorded): never run now
            resuming_.erase(c);
            return;
          }
          if (checked.interrupted || stopping_) {  // stopped, not refuted: the next leader's
            resuming_.erase(c);
            return stoppedIfIdle();
          }
          if (!checked.ok) {
            // A cut that outlasts the takeover (the candidate unreachable for a moment) must
            // not hold the component for good: re-verified again after the component's
            // failover_retry_backoff, up to failover_retries times, then held.
            if (scheduleReverify(j, checked)) return;
            return holdInterrupted(c, "its remaining steps did not re-verify: " +
                                                  checked.reason);
          }
          std::string why;
          if (stopping_ || !tryStart(request, &why, &j)) {
            resuming_.erase(c);  // looked at again on the next tick
            spdlog::warn("{}: the interrupted plan {} not resumed now: {}", c, j.plan,
                         stopping_ ? "the daemon is stopping" : why);
            return;
          }
          takeovers_.insert(c);  // its end is not this daemon's own failed failover
          resuming_.erase(c);
          reverify_.erase(c);
          record_("failover_resumed", c,
                  fmt::format("plan {} that {} left after {} steps{} re-verified and resumed "
                              "by {}",
                              j.plan, j.node.empty() ? "an earlier leader" : j.node, j.steps_done,
                              j.last_step.empty() ? "" : " (last done: " + j.last_step + ")",
                              cfg_->node.name),
                  {{"plan", j.plan},
                   {"trigger", j.trigger},
                   {"from_node", j.node},
                   {"steps_done", j.steps_done},
                   {"last_step", j.last_step},
                   {"epoch", j.epoch},
                   {"journal", store_->where(c)}});
        });
      },
      &refused);
  if (!started) {
    resuming_.erase(component);
    spdlog::warn("{}: the interrupted plan {} not re-verified now: {}", component, j.plan, refused);
    return;
  }
  // A SIGTERM meanwhile waits for the re-verification (bounded by its budget), then stops.
  running_until_[component] = clock_.now() + planBudget(*plan);
}

bool PlanKeeper::scheduleReverify(const actions::PlanJournal& j, const actions::RunReport& checked) {
  const std::string& c = j.component;
  const config::ComponentConfig* cc = cfg_->findComponent(c);
  Reverify& r = reverify_[c];
  if (r.used == 0) {
    r.first = clock_.now();
    r.journal = j.started + "/" + j.node;
  }
  const Duration wait = cc == nullptr ? Duration{} : cc->failover_retry_backoff * (1 << std::min(r.used, 6));
  // Bounded in count and in time: the journal's evidence (a fence the previous leader did)
  // grows stale; past the component's RTO target an operator looks instead.
  if (cc == nullptr || r.used >= cc->failover_retries ||
      clock_.now() + wait - r.first > cc->rto_target) {
    reverify_.erase(c);
    return false;
  }
  ++r.used;
  r.next = clock_.now() + wait;
  resuming_.erase(c);
  const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(wait);
  record_("failover_retry_scheduled", c,
          fmt::format("plan {} that {} left after {} steps did not re-verify ({}): looked at "
                      "again in {} ({} of {})",
                      j.plan, j.node.empty() ? "an earlier leader" : j.node, j.steps_done,
                      checked.reason, formatDuration(after), r.used, cc->failover_retries),
          {{"plan", j.plan},
           {"attempt", r.used},
           {"of", cc->failover_retries},
           {"retry_at", events::formatTimestamp(clock_.wallNow() + after)},
           {"after_ms", after.count()},
           {"failed_step", checked.failed_step},
           {"resumed", true},
           {"from_node", j.node}});
  return true;
}

void PlanKeeper::drop(const actions::PlanJournal& j, const std::string& why) {
  store_->drop(j, [this, j, why](const std::string& error) {
    resuming_.erase(j.component);
    if (!error.empty()) {
      spdlog::warn("{}: the finished plan's journal not removed: {}", j.component, error);
      return;
    }
    record_("failover_skipped", j.component,
            fmt::format("plan {} that {} left after {} steps is not resumed: {}; its journal was "
                        "removed",
                        j.plan, j.node.empty() ? "an earlier leader" : j.node, j.steps_done, why),
            {{"plan", j.plan}, {"trigger", j.trigger}, {"from_node", j.node}, {"roles_moved", true}});
  });
}

void PlanKeeper::tick() {
  for (auto it = held_.begin(); it != held_.end();) {
    if (store_->there(*it)) {
      ++it;
      continue;
    }
    spdlog::warn("{}: the interrupted plan was resumed or abandoned; automation is back", *it);
    decider_.releaseInterrupted(*it);
    it = held_.erase(it);
  }
  // A plan another process ran and never finished (an operator's `hftguard failover` killed).
  for (const auto& c : cfg_->components) {
    if (!held(c.name) && !runner_.running(c.name) && !resuming_.count(c.name))
      checkJournal(c.name);
  }
}

bool PlanKeeper::tryStart(actions::RunRequest request, std::string* refused,
                          const actions::PlanJournal* taken_over) {
  const std::string component = request.component;
  const Duration budget = planBudget(*request.plan);
  if (!request.dry_run && request.kind == "failover") {  // checks change nothing: no journal
    store_->attach(request, taken_over);
  }
  const bool started = runner_.start(
      std::move(request), [this, component](const actions::RunReport& r) { ended(component, r); },
      refused);
  if (started) running_until_[component] = clock_.now() + budget;
  return started;
}

bool PlanKeeper::startNow(actions::RunRequest request,
                          std::function<void(const actions::RunReport&)> then,
                          std::string* refused) {
  const std::string component = request.component;
  if (stopping_) {
    *refused = "the daemon is stopping";
    return false;
  }
  if (runner_.running(component) || deferred_.count(component) || held(component)) {
    *refused = "a plan for " + component + " runs, waits or is held";
    return false;
  }
  // A dry run or a plan of checks changes nothing: a real failover decided meanwhile waits
  // for it (deferred), never skipped as "this daemon's plan runs".
  const bool soft = request.dry_run || request.kind != "failover";
  if (!tryStart(std::move(request), refused)) return false;
  then_[component] = std::move(then);
  if (soft) soft_.insert(component);
  return true;
}

void PlanKeeper::start(actions::RunRequest request) {
  const std::string component = request.component;
  std::string why;
  // This daemon's own plan runs for the component (a Sentinel switch it caused, a second
  // trigger of the same outage): that plan's outcome counts; running it again would fence
  // and promote twice.
  // A Sentinel switch heard while our ended plan tidies up is the echo of the switch that
  // plan caused or followed: skipped the same way.
  if (runner_.running(component) && soft_.count(component) == 0 &&
      (!runner_.ending(component) || request.context.switched)) {
    record_("failover_skipped", component,
            fmt::format("plan {} not started: this daemon's plan for {} is running",
                        request.plan->name, component),
            {{"plan", request.plan->name}, {"trigger", request.trigger}});
    return;
  }
  // A plan of ours that has ended and only removes its journal: this decision is a new one,
  // deferred until that plan lets the lock go (its journal is ours, not another process's).
  const bool ours = runner_.ending(component);
  if (!stopping_ && !ours && deferred_.count(component) == 0 && tryStart(request, &why)) return;
  if (rolesMoved(why)) return skipMoved(component, request, why);
  if (ours) why = "this daemon's previous plan for " + component + " is finishing";
  if (stopping_) why = "the daemon is stopping";
  if (why.empty()) why = "an earlier deferred plan waits for " + component;
  const Duration bound =
      request.rto_target > Duration::zero() ? request.rto_target : kDefaultDeferBound;
  Deferred d{std::move(request), clock_.now(), clock_.now() + bound, why};
  // Another process's plan runs right now (its journal is there).
  d.overtaken = !ours && store_->there(component);
  record_("failover_deferred", component,
          fmt::format("plan {} deferred: {}; started as soon as it can, within {}",
                      d.request.plan->name, why, formatDuration(bound)),
          {{"plan", d.request.plan->name},
           {"trigger", d.request.trigger},
           {"why", why},
           {"bound_ms", ms(bound)}});
  if (stopping_) return giveUp(component, d, why);
  deferred_[component] = std::move(d);  // the latest decision stands for the component
  armRetry();
}

// A plan refused because the roles moved since it was decided: the failover it asked for
// happened (another process's, an operator's), or its target was fenced. Waiting would not
// make it right - it is skipped, never deferred into a false "never started" page.
bool PlanKeeper::rolesMoved(const std::string& why) { return why.starts_with("the roles moved"); }

void PlanKeeper::skipMoved(const std::string& component, const actions::RunRequest& request,
                           const std::string& why) {
  record_("failover_skipped", component,
          fmt::format("plan {} not started: {}", request.plan->name, why),
          {{"plan", request.plan->name}, {"trigger", request.trigger}, {"roles_moved", true}});
}

void PlanKeeper::giveUp(const std::string& component, const Deferred& d, const std::string& why) {
  record_("failover_failed", component,
          fmt::format("plan {} was never started: {} (waited {:.0f}ms)", d.request.plan->name, why,
                      ms(clock_.now() - d.since)),
          {{"plan", d.request.plan->name},
           {"trigger", d.request.trigger},
           {"deferred", true},
           {"failed_step", ""},
           {"waited_ms", ms(clock_.now() - d.since)}});
}

void PlanKeeper::armRetry() {
  if (deferred_.empty() || stopping_) return;
  retry_.expires_after(kRetryEvery);
  retry_.async_wait([this](boost::system::error_code ec) {
    if (!ec) retryDeferred();
  });
}

void PlanKeeper::retryDeferred() {
  for (auto it = deferred_.begin(); it != deferred_.end();) {
    Deferred& d = it->second;
    std::string why;
    const bool ours = runner_.ending(it->first);  // our ended plan's journal, going away
    const bool journal = !ours && store_->there(it->first);
    d.overtaken = d.overtaken || journal;
    if (const std::string skip = stale(it->first, d, journal); !skip.empty()) {
      record_("failover_skipped", it->first,
              fmt::format("deferred plan {} not started: {}", d.request.plan->name, skip),
              {{"plan", d.request.plan->name}, {"trigger", d.request.trigger}, {"deferred", true}});
      it = deferred_.erase(it);
      continue;
    }
    // A journal without its lock held is an interrupted plan: tick() holds the component;
    // never start from the top over it.
    if (!journal && !ours && tryStart(d.request, &why)) {
      it = deferred_.erase(it);
      continue;
    }
    if (rolesMoved(why)) {
      skipMoved(it->first, d.request, why);
      it = deferred_.erase(it);
      continue;
    }
    if (journal) why = "another process's plan for " + it->first + " is under way (its journal)";
    if (ours) why = "this daemon's previous plan for " + it->first + " is finishing";
    d.why = why;
    if (clock_.now() >= d.until) {
      giveUp(it->first, d,
             fmt::format("could not start within {}: {}",
                         formatDuration(roundMs(d.until - d.since)), why));
      it = deferred_.erase(it);
      continue;
    }
    ++it;
  }
  armRetry();
}

// Why a deferred plan must not start now ("" when it may): another process's plan acted
// meanwhile, or the component is no longer failed.
std::string PlanKeeper::stale(const std::string& component, const Deferred& d, bool journal) const {
  if (held(component)) return "an interrupted plan holds " + component;
  if (d.overtaken && !journal)
    return "another process ran a plan for " + component +
           " while this one waited: its outcome counts (see its events)";
  if (decider_.health(component) == decide::Health::Healthy) return component + " is healthy again";
  return {};
}

void PlanKeeper::ended(const std::string& component, const actions::RunReport& report) {
  running_until_.erase(component);
  const bool takeover = takeovers_.erase(component) > 0;
  // It failed, and etcd never heard so (a hiccup, or this daemon was deposed): this daemon
  // must not take its own failed plan up again. Held; another leader re-verifies it.
  if (report.failure_unrecorded && !held(component)) {
    holdInterrupted(component, "it failed, and " + report.reason);
  }
  // Its steps ran (the standby was promoted) but the roles still name the old primary: a
  // second run from the top would promote again. Held on its journal, which stays; a leader
  // that takes it up has only the roles' commit left to do.
  if (report.roles_unmoved && !held(component)) {
    holdInterrupted(component, "every step ran, but " + report.reason);
  }
  // With failover_retries (opt-in: the plan's steps are safe to run again), the component's
  // own plan that failed at a step is run again from the top while the component stays
  // failed: a cut that outlasted a step (the candidate unreachable for a moment) must not
  // leave the site without a primary until an operator comes. Not a follow of a store's own
  // switch (a fresh run would switch it again), nor a resumed run (its first steps were
  // another leader's), nor one that holds the component (above).
  const config::ComponentConfig* c = cfg_->findComponent(component);
  const bool by_operator = then_.count(component) > 0;  // startNow's: asked once, run once
  if (!report.ok && !report.dry_run && !report.interrupted && !report.failure_unrecorded &&
      !by_operator &&
      !report.roles_unmoved && !report.followed && !report.resumed && !takeover &&
      !held(component) &&
      !stopping_ && c != nullptr && report.plan == c->plan) {
    const SteadyTime now = clock_.now();
    if (auto at = decider_.failoverFailed(component, now)) {
      const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(*at - now);
      const auto wall = clock_.wallNow() + after;
      const int used = decider_.retriesUsed(component);
      record_("failover_retry_scheduled", component,
              fmt::format("plan {} failed at {}: run again in {} ({} of {}) while {} stays failed",
                          report.plan, report.failed_step.empty() ? "?" : report.failed_step,
                          formatDuration(after), used, c->failover_retries, component),
              {{"plan", report.plan},
               {"attempt", used},
               {"of", c->failover_retries},
               {"retry_at", events::formatTimestamp(wall)},
               {"after_ms", after.count()},
               {"failed_step", report.failed_step}});
    }
  }
  soft_.erase(component);
  if (auto then = then_.extract(component); !then.empty()) then.mapped()(report);
  // The journal of a plan that ended is gone already (RunRequest::tidy); an interrupted
  // plan's stays: the next start-up holds the component on it.
  if (!deferred_.empty() && !stopping_) {
    boost::asio::post(io_, [this] { retryDeferred(); });  // not inside the runner's callback
  }
  stoppedIfIdle();
}

void PlanKeeper::stoppedIfIdle() {
  if (stopping_ && runner_.idle() && stopped_) {
    auto then = std::move(stopped_);
    stopped_ = nullptr;
    stop_timer_.cancel();
    boost::asio::post(io_, [then, outcome = stop_outcome_] { then(outcome); });
  }
}

void PlanKeeper::stop(Duration limit, std::function<void(const std::string&)> then) {
  stopping_ = true;
  retry_.cancel();
  for (const auto& [component, d] : deferred_) giveUp(component, d, "the daemon is stopping");
  deferred_.clear();
  if (runner_.idle()) return then("no plan was running");
  SteadyTime until = clock_.now();
  std::string plans;
  for (const auto& [component, end] : running_until_) {
    until = std::max(until, end);
    plans += (plans.empty() ? "" : ", ") + component;
  }
  if (limit > Duration::zero()) until = std::min(until, clock_.now() + limit);
  spdlog::warn("stopping: waiting up to {} for the plan of {} to finish",
               formatDuration(roundMs(until - clock_.now())), plans);
  stop_outcome_ = "after the running plan of " + plans + " ended";
  stopped_ = std::move(then);
  stop_timer_.expires_after(until - clock_.now());
  stop_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || !stopped_) return;
    stop_outcome_ = "the running plan did not end within its deadline and was interrupted";
    runner_.interrupt("the daemon is stopping and the plan's deadline passed");
  });
}

std::string PlanKeeper::busyWith() const {
  if (!running_until_.empty()) return "a plan runs for " + running_until_.begin()->first;
  if (!deferred_.empty()) return "a plan for " + deferred_.begin()->first + " is deferred";
  if (!resuming_.empty()) return "a plan for " + *resuming_.begin() + " is being taken over";
  if (!takeovers_.empty()) return "a plan taken over for " + *takeovers_.begin() + " runs";
  if (!reverify_.empty()) {
    return "a plan taken over for " + reverify_.begin()->first + " waits to be re-verified";
  }
  return {};
}

}  // namespace hftguard::cli

#include "switchover.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

namespace hftguard::cli {

struct Switchover::Run {
  const config::ComponentConfig* component = nullptr;  // of the config it started under
  const config::SwitchoverConfig* cfg = nullptr;
  const config::PlanConfig* pre = nullptr;
  const config::PlanConfig* plan = nullptr;
  const config::PlanConfig* post = nullptr;
  SwitchoverRequest request;
  std::string id;  // switchover_started's: every run and check names it as its trigger
  std::string from, to;
  enum class Stage { Ready, PreChecks, Plan, PostChecks, Healthy } stage = Stage::Ready;
  bool held = false;
  int checks = 0;
  SteadyTime started{};
  SteadyTime healthy_by{};
  std::unique_ptr<boost::asio::steady_timer> timer;
};

Switchover::Switchover(boost::asio::io_context& io, const Clock& clock, Hooks hooks)
    : io_(io), clock_(clock), hooks_(std::move(hooks)) {}

Switchover::~Switchover() = default;

bool Switchover::running() const { return run_ != nullptr; }

void Switchover::stop(const std::string& why) {
  if (!run_) return;
  auto run = run_;
  end(run, "switchover_failed", why, {{"failed", "stopped"}}, false);
}

std::string Switchover::start(const config::Config& cfg, const SwitchoverRequest& q,
                              std::string* id) {
  if (run_) return "a switchover of " + run_->component->name + " runs (" + run_->id + ")";
  const config::ComponentConfig* c = cfg.findComponent(q.component);
  if (c == nullptr) return "no component '" + q.component + "'";
  if (!c->switchover) {
    return q.component + " has no switchover: configure components." + q.component +
           ".switchover (docs/config.md)";
  }
  auto run = std::make_shared<Run>();
  run->component = c;
  run->cfg = &*c->switchover;
  run->plan = cfg.findPlan(run->cfg->plan);
  run->pre = run->cfg->pre_checks.empty() ? nullptr : cfg.findPlan(run->cfg->pre_checks);
  run->post = run->cfg->post_checks.empty() ? nullptr : cfg.findPlan(run->cfg->post_checks);
  run->request = q;
  run->from = hooks_.primary(*c);
  std::string why;
  run->to = hooks_.target(*c, q.candidate, &why);
  if (run->to.empty()) return why;
  run->started = clock_.now();
  const std::string by = q.owner.empty() ? std::string("an operator") : q.owner;
  run->id = hooks_.record(
      "switchover_started", c->name,
      fmt::format("{}switchover of {} from {} to {} by {}{}", q.dry_run ? "dry run of a " : "",
                  c->name, run->from, run->to, by, q.reason.empty() ? "" : ": " + q.reason),
      {{"from", run->from},
       {"to", run->to},
       {"plan", run->plan->name},
       {"pre_checks", run->pre ? nlohmann::json(run->pre->name) : nlohmann::json()},
       {"post_checks", run->post ? nlohmann::json(run->post->name) : nlohmann::json()},
       {"dry_run", q.dry_run},
       {"owner", q.owner},
       {"reason", q.reason}});
  *id = run->id;
  run_ = run;
  step(run);
  return {};
}

// One stage after another; each either goes on (step again) or ends the switchover.
void Switchover::step(const std::shared_ptr<Run>& run) {
  const config::ComponentConfig& c = *run->component;
  auto check = [&](const std::string& phase, const std::string& name, const std::string& why,
                   nlohmann::json more = nlohmann::json::object()) {
    ++run->checks;
    more.update({{"phase", phase}, {"check", name}, {"ok", why.empty()}, {"trigger", run->id}});
    hooks_.record("switchover_check", c.name,
                  fmt::format("{}-check {}: {}", phase, name, why.empty() ? "passed" : why), more);
    return why.empty();
  };
  // A plan of checks, or the switchover plan; `then` on the loop with its report.
  auto runPlan = [&](const config::PlanConfig& plan, bool move, bool dry_run, auto then) {
    std::weak_ptr<Run> weak = run;
    const std::string why = hooks_.run(
        c, plan, run->from, run->to, move, dry_run, run->id,
        [this, weak, then](const actions::RunReport& report) {
          // On a fresh handler: the plan's lock is let go once this callback has returned.
          boost::asio::post(io_, [this, weak, then, report] {
            if (auto r = weak.lock(); r && r == run_) then(r, report);
          });
        });
    return why;
  };
  switch (run->stage) {
    case Run::Stage::Ready: {
      const decide::Health h = hooks_.health(c.name);
      if (!check("pre", "primary_healthy",
                 h == decide::Health::Healthy
                     ? std::string()
                     : fmt::format("{} is {}: a switchover starts from a healthy primary (a "
                                   "failed one is a failover: hftguard failover {})",
                                   c.name, decide::toString(h), c.name))) {
        return end(run, "switchover_refused", "pre-check primary_healthy failed",
                   {{"failed", "primary_healthy"}});
      }
      if (!check("pre", "standby_ready", hooks_.ready(c, run->to), {{"member", run->to}})) {
        return end(run, "switchover_refused", "pre-check standby_ready failed",
                   {{"failed", "standby_ready"}});
      }
      run->stage = Run::Stage::PreChecks;
      return step(run);
    }
    case Run::Stage::PreChecks:
      run->stage = Run::Stage::Plan;
      return checks(run, run->pre, "pre-checks", "switchover_refused");
    case Run::Stage::Plan: {
      run->stage = Run::Stage::PostChecks;
      const bool dry = run->request.dry_run;
      // Held from the plan on (its own outage is expected), not during the pre-checks: a
      // primary that really fails while they run is failed over (deferred until they end),
      // and the switchover is then refused.
      if (!dry) {
        hooks_.hold(c.name, "switchover " + run->id + " runs");
        run->held = true;
      }
      const std::string why = runPlan(*run->plan, true, dry, [this, dry](auto r, const auto& report) {
        if (!report.ok) {
          return end(r, "switchover_failed",
                     fmt::format("plan {} {} at {}: {}", report.plan,
                                 report.interrupted ? "was interrupted" : "failed",
                                 report.failed_step, report.reason),
                     {{"failed", report.failed_step}, {"why", report.reason}});
        }
        if (dry) {
          return end(r, "switchover_completed",
                     "dry run: the checks passed and every step's preconditions hold", {});
        }
        step(r);
      });
      if (!why.empty()) {
        return end(run, "switchover_refused", "plan not started: " + why, {{"why", why}});
      }
      return;
    }
    case Run::Stage::PostChecks:
      run->stage = Run::Stage::Healthy;
      return checks(run, run->post, "post-checks", "switchover_failed");
    case Run::Stage::Healthy:
      run->healthy_by = clock_.now() + run->cfg->healthy_within;
      return waitHealthy(run);
  }
}

// A plan of checks (none: the next stage at once); a failed step, or one that could not
// start, ends the switchover as `failed_type`.
void Switchover::checks(const std::shared_ptr<Run>& run, const config::PlanConfig* plan,
                        const std::string& what, const std::string& failed_type) {
  if (plan == nullptr) return step(run);
  std::weak_ptr<Run> weak = run;
  const std::string why = hooks_.run(
      *run->component, *plan, run->from, run->to, false, false, run->id,
      [this, weak, what, failed_type](const actions::RunReport& report) {
        boost::asio::post(io_, [this, weak, what, failed_type, report] {
          auto r = weak.lock();
          if (!r || r != run_) return;
          if (!report.ok) {
            return end(r, failed_type,
                       fmt::format("{} {} failed at {}: {}", what, report.plan, report.failed_step,
                                   report.reason),
                       {{"failed", report.failed_step}, {"why", report.reason}});
          }
          step(r);
        });
      });
  if (!why.empty()) end(run, failed_type, what + " not started: " + why, {{"why", why}});
}

// The component's checks address the new primary once the roles moved: automation comes
// back only when they say it is healthy (a failure they saw before would otherwise be a
// failed component nobody fails over).
void Switchover::waitHealthy(const std::shared_ptr<Run>& run) {
  const config::ComponentConfig& c = *run->component;
  const decide::Health h = hooks_.health(c.name);
  const bool fresh = hooks_.answered(c);
  if ((h == decide::Health::Healthy && fresh) || clock_.now() >= run->healthy_by) {
    const bool ok = h == decide::Health::Healthy && fresh;
    ++run->checks;
    hooks_.record("switchover_check", c.name,
                  ok ? fmt::format("post-check healthy: {} is healthy on {}", c.name, run->to)
                     : fmt::format("post-check healthy: {} is {}{} {} after the switchover",
                                   c.name, decide::toString(h),
                                   fresh ? "" : " (its checks have not all answered ok on " + run->to + ")",
                                   formatDuration(run->cfg->healthy_within)),
                  {{"phase", "post"}, {"check", "healthy"}, {"ok", ok}, {"trigger", run->id},
                   {"health", std::string(decide::toString(h))}});
    if (!ok) {
      return end(run, "switchover_failed",
                 fmt::format("{} not healthy on {} within {}", c.name, run->to,
                             formatDuration(run->cfg->healthy_within)),
                 {{"failed", "healthy"}});
    }
    return end(run, "switchover_completed",
               fmt::format("{} switched over from {} to {}", c.name, run->from, run->to), {});
  }
  run->timer = std::make_unique<boost::asio::steady_timer>(io_);
  run->timer->expires_after(std::chrono::milliseconds(100));
  std::weak_ptr<Run> weak = run;
  run->timer->async_wait([this, weak](boost::system::error_code ec) {
    if (auto r = weak.lock(); !ec && r && r == run_) waitHealthy(r);
  });
}

void Switchover::end(const std::shared_ptr<Run>& run, const std::string& type,
                     const std::string& reason, nlohmann::json fields, bool reconsider) {
  const config::ComponentConfig& c = *run->component;
  // From the post-checks on, the roles moved: a failure held meanwhile was the old
  // primary's (or the new one's first moments), never a reason to fail over again.
  if (run->held) hooks_.release(c.name, reconsider && run->stage != Run::Stage::Healthy);
  const bool failed = type == "switchover_failed";
  fields.update({{"trigger", run->id},
                 {"from", run->from},
                 {"to", run->to},
                 {"dry_run", run->request.dry_run},
                 {"checks", run->checks},
                 {"took_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                 clock_.now() - run->started)
                                 .count()}});
  if (failed) {
    fields["health"] = std::string(decide::toString(hooks_.health(c.name)));
  }
  hooks_.record(type, c.name,
                failed ? reason + fmt::format("; automation is back for {} ({} now): a failure "
                                              "the switchover held, on roles that did not move, "
                                              "is decided as a held failover (its gates apply; "
                                              "otherwise `hftguard failover {}` if it must)",
                                              c.name, decide::toString(hooks_.health(c.name)),
                                              c.name)
                       : reason,
                std::move(fields));
  run_.reset();
}

}  // namespace hftguard::cli

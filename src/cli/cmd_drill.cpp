// hftguard drill [--config F] --scenario NAME[,NAME...|all] [--repeat N] [--report DIR]:
// the runbook's failover drill against a running daemon. For each run: the scenario's
// verification must pass first (and the component be healthy), the fault is injected, the
// daemon's own detection and plan do the rest (no shortcut), the verification runs again,
// and the phases are measured from the daemon's events - first failed sample, decision,
// each plan step, plan done, service verified, RTO against the component's target. A
// `blip` scenario passes only if no failover follows. The stack is restored (failback)
// after each run so scenarios can run back to back. With several daemons (coordinated,
// `--events` names every one's log) the drill reads them all: the first failed sample and
// decision of any, the plan of whichever leads, and "healthy" once every one says so.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <fmt/ranges.h>
#include <fcntl.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "hftguard/actions/action.hpp"
#include "hftguard/control/maintenance_file.hpp"
#include "hftguard/core/logging.hpp"
#include "hftguard/core/suggest.hpp"
#include "hftguard/drill/histories.hpp"
#include "hftguard/drill/report.hpp"

#include "hftguard/coord/cluster_state.hpp"

#include "commands.hpp"
#include "roles.hpp"
#include "runtime.hpp"

namespace hftguard::cli {
namespace {

using Steady = std::chrono::steady_clock;

// The event log's lines appended since the last poll.
class EventTail {
 public:
  explicit EventTail(std::string path) : path_(std::move(path)) {}
  std::vector<events::Event> poll() {
    std::ifstream in(path_);
    in.seekg(static_cast<std::streamoff>(offset_));
    std::vector<events::Event> out;
    std::string line;
    while (std::getline(in, line)) {
      if (in.eof()) break;  // a line still being written: read it next time
      offset_ += line.size() + 1;
      if (auto e = events::parseEventLine(line)) out.push_back(std::move(*e));
    }
    return out;
  }

 private:
  std::string path_;
  std::size_t offset_ = 0;
};

class Drill {
 public:
  Drill(const config::Config& cfg, std::vector<std::string> logs, std::ostream& out)
      : cfg_(cfg), out_(out), rt_(cfg), env_{rt_.io, rt_.http, rt_.workers, rt_.clock} {
    for (auto& path : logs) tails_.emplace_back(std::move(path));
    poll();
  }

  // One scenario run: each of its rounds (a failover there and, with rounds: 2, back).
  drill::RunResult run(const config::DrillScenario& s, int repeat) {
    std::vector<std::string> path;  // the primaries, in the order the failovers moved them
    std::vector<std::string> rtos;
    drill::RunResult r;
    for (int round = 1; round <= s.rounds; ++round) {
      r = runOnce(s, repeat, path);
      if (!r.pass) {
        if (s.rounds > 1) r.why = fmt::format("round {} of {}: {}", round, s.rounds, r.why);
        return r;
      }
      rtos.push_back(fmt::format("{:.0f}", r.rto_ms));
    }
    if (s.rounds > 1) {
      r.why = fmt::format("{}: RTO {} ms within {:.0f} ms", fmt::join(path, " -> "),
                          fmt::join(rtos, ", "), r.rto_target_ms);
    }
    return r;
  }

 private:
  // inject, the failover, verify, restore; `path` gets the roles' move.
  drill::RunResult runOnce(const config::DrillScenario& s, int repeat,
                           std::vector<std::string>& path) {
    drill::RunResult r;
    r.scenario = s.name;
    r.repeat = repeat;
    r.expect_failover = s.expect_failover;
    // With roles (members), the plans address the members by role, as the roles are now:
    // {old_primary} the primary the fault goes to, {new_primary} the candidate.
    actions::PlanContext ctx{s.component, cfg_.node.name, {}, {}, {}, {}, "drill"};
    const config::ComponentConfig* c = cfg_.findComponent(s.component);
    const bool tracked = c != nullptr && !c->members.empty();
    if (tracked) {
      std::string why;
      auto roles = readRoles(cfg_, *c, &why);
      if (roles) why = fillFromRoles(*c, *roles, ctx);
      if (!why.empty()) {
        r.why = "pre-check: roles of " + s.component + ": " + why;
        return r;
      }
    }
    if (!s.mid_failover.empty() && cfg_.coordination.type != "etcd") {
      r.why = "needs coordination: etcd (several daemons; scripts/demo --daemons 3)";
      return r;
    }
    if (auto why = precheck(s, ctx); !why.empty()) {
      r.why = "pre-check: " + why;
      restore(s, ctx);
      return r;
    }
    if (s.maintenance) {
      if (auto why = setMaintenance(s, true); !why.empty()) {
        r.why = why;
        return r;
      }
    }
    const std::size_t mark = seen_.size();  // events from here on belong to this run
    const WallTime injected = rt_.clock.wallNow();
    const auto start = Steady::now();
    const std::int64_t injected_ns = drill::monotonicNowNs();  // the histories' clock
    if (auto why = runPlan(s.inject, ctx); !why.empty()) {
      r.why = "inject: " + why;
      restore(s, ctx);
      if (s.maintenance) setMaintenance(s, false);
      return r;
    }
    if (s.maintenance) {  // the planned operation is done: that is its time
      r.completed_ms = std::chrono::duration<double, std::milli>(Steady::now() - start).count();
    }
    bool restored = false;
    if (s.fault_for) {
      pump(*s.fault_for - (Steady::now() - start));
      restore(s, ctx);
      restored = true;
    }
    std::string outcome = s.expect_failover && !s.maintenance
                              ? awaitFailover(s, ctx, start, injected, mark)
                              : awaitCalm(s, start, mark);
    if ((s.expect_failover || s.maintenance) && outcome.empty() && !s.verify.empty()) {
      if (auto why = runPlan(s.verify, ctx); !why.empty()) {
        r.why = "post-check: " + why;
      } else {
        r.verified_ms = std::chrono::duration<double, std::milli>(Steady::now() - start).count();
      }
    }
    // After the post-check (whose time is the service's, not this wait's): it ran once.
    if (outcome.empty() && s.expect_failover && !s.maintenance) {
      outcome = checkOnce(s, ctx, mark, injected, tracked);
    }
    drill::measure(seen_, s.component, injected, r);  // every daemon's lines read by now
    if (r.why.empty()) r.why = outcome;
    if (r.why.empty() && s.expect_failover && !s.maintenance && r.rto_ms < 0) {
      r.why = "no failover_completed with an RTO after the injection";  // never a PASS on none
    }
    if (r.why.empty()) {
      r.pass = true;
      r.why = s.maintenance ? fmt::format("done in {:.0f} ms, no failover", r.completed_ms)
              : s.expect_failover
                  ? fmt::format("RTO {:.0f} ms within {:.0f} ms{}", r.rto_ms, r.rto_target_ms,
                                taken_over_)
                  : fmt::format("no failover in {}", formatDuration(s.observe));
      if (tracked && s.expect_failover && !s.maintenance) {
        if (path.empty()) path.push_back(ctx.old_primary);
        path.push_back(ctx.new_primary);
      }
    }
    if (!restored) restore(s, ctx, tracked && failedOver(s, ctx, mark));
    if (s.maintenance) setMaintenance(s, false);
    checkHistories(injected_ns, r);  // the restore too: a primary back from a cut counts
    return r;
  }

  // With drill.histories: no instant, from the injection to now, with two engines primary.
  void checkHistories(std::int64_t from_ns, drill::RunResult& r) {
    const auto& files = cfg_.drill_options.histories;
    if (files.empty()) return;
    const std::int64_t now = drill::monotonicNowNs();
    std::map<std::string, std::vector<drill::RoleInterval>> primary;
    std::string problem;
    for (const auto& path : files) {
      std::ifstream in(path);
      if (!in) {
        problem = fmt::format("history {}: {}", path, std::strerror(errno));
        continue;
      }
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::string error;
      primary[path] = drill::primaryIntervals(text, now, &error);
      if (!error.empty()) problem = fmt::format("history {}: {}", path, error);
    }
    const drill::Histories h = drill::overlap(std::move(primary), from_ns, now);
    r.double_primary_ms = static_cast<double>(h.double_primary_ns) / 1e6;
    if (h.double_primary_ns > 0) {
      problem = fmt::format("two primaries at once for {:.1f} ms, from {:.0f} ms after the "
                            "injection",
                            r.double_primary_ms,
                            static_cast<double>(h.first_double_ns - from_ns) / 1e6);
    }
    if (!problem.empty()) {
      r.why = r.pass ? problem : r.why + "; " + problem;
      r.pass = false;
    }
  }

  // This run's failover completed: the roles moved from ctx.old_primary, at ctx.epoch.
  bool failedOver(const config::DrillScenario& s, const actions::PlanContext& ctx,
                  std::size_t from) {
    poll();
    for (std::size_t i = from; i < seen_.size(); ++i) {
      const auto& e = seen_[i];
      if (e.component == s.component && e.type == "failover_completed" &&
          !e.fields.value("dry_run", false) &&
          e.fields.value("epoch", std::uint64_t{0}) == ctx.epoch)
        return true;
    }
    return false;
  }

  // After the outcome: the failover ran once (one completion, across every daemon's log)
  // and, with roles, went to the candidate the roles named. With a mid_failover kill, the
  // daemon that completed it is not the one that started it.
  std::string checkOnce(const config::DrillScenario& s, const actions::PlanContext& ctx,
                        std::size_t from, WallTime injected, bool tracked) {
    pump(std::chrono::milliseconds(500));  // a second completion would be on its way by now
    poll();
    std::size_t completed = 0;
    std::optional<std::string> starter, completer;  // node names
    std::string to;
    for (std::size_t i = from; i < seen_.size(); ++i) {
      const auto& e = seen_[i];
      if (e.component != s.component || e.fields.value("dry_run", false)) continue;
      if (e.at < injected) continue;  // a plan still running from before (awaitFailover)
      if (e.type == "failover_started" && !starter) starter = e.node;
      if (e.type == "failover_completed") {
        ++completed;
        completer = e.node;
        to = e.fields.value("new_primary", "");
      }
    }
    taken_over_.clear();
    if (completed != 1) return fmt::format("{} failovers completed, not one", completed);
    if (tracked && to != ctx.new_primary) {
      return fmt::format("the failover went to {}, not to the candidate {}", to, ctx.new_primary);
    }
    if (!s.mid_failover.empty()) {
      if (starter && completer && *starter == *completer)
        return "the daemon that started the failover also completed it: nothing was taken over";
      taken_over_ = fmt::format("; started by {}, completed by {}", starter.value_or("?"), *completer);
    }
    return {};
  }

  // Puts the component in maintenance (or ends it) through the file the daemon applies
  // every second, and waits until the daemon has recorded it.
  std::string setMaintenance(const config::DrillScenario& s, bool on) {
    const WallTime until_wall = rt_.clock.wallNow() + std::chrono::minutes(10);
    const std::string error = control::updateMaintenance(
        cfg_.maintenance_path, [&](std::vector<control::MaintenanceEntry>& entries) {
          std::erase_if(entries, [&](const auto& e) { return e.component == s.component; });
          if (on) entries.push_back({s.component, "hftguard drill", "drill " + s.name, until_wall});
          return std::string();
        });
    if (!error.empty()) return "maintenance file: " + error;
    const std::string wanted = on ? "maintenance_started" : "maintenance_ended";
    const std::size_t from = seen_.size();
    const auto until = Steady::now() + std::chrono::seconds(5);
    std::set<std::size_t> heard;  // every daemon applies the file on its own
    while (Steady::now() < until) {
      pump(std::chrono::milliseconds(50));
      poll();
      for (std::size_t i = from; i < seen_.size(); ++i) {
        if (seen_[i].type == wanted && seen_[i].component == s.component) heard.insert(source_[i]);
      }
      if (heard.size() == tails_.size()) return {};
    }
    return fmt::format("{} of {} daemons did not record {} within 5 s",
                       tails_.size() - heard.size(), tails_.size(), wanted);
  }

  // Runs the loop for `d` (the plans' HTTP and Redis work happens there).
  void pump(Duration d) {
    const auto until = Steady::now() + d;
    while (Steady::now() < until) turn();
  }

  void turn() { cli::turn(rt_.io, std::chrono::milliseconds(10)); }

  // Every log's new lines, in time order within the batch (each log is in order already).
  void poll() {
    std::vector<std::pair<events::Event, std::size_t>> more;
    for (std::size_t i = 0; i < tails_.size(); ++i) {
      for (auto& e : tails_[i].poll()) more.emplace_back(std::move(e), i);
    }
    std::stable_sort(more.begin(), more.end(),
                     [](const auto& a, const auto& b) { return a.first.at < b.first.at; });
    for (auto& [e, i] : more) {
      seen_.push_back(std::move(e));
      source_.push_back(i);
    }
  }

  // The component's health as the daemons last reported it: "healthy" only when every
  // daemon that reported says so; else the first other word; "" before any report.
  std::string health(const std::string& component) {
    poll();
    std::vector<std::string> last(tails_.size());
    for (std::size_t k = 0; k < seen_.size(); ++k) {
      if (seen_[k].component == component && seen_[k].type == "state_changed")
        last[source_[k]] = seen_[k].fields.value("to", "");
    }
    std::string said;
    for (const auto& h : last) {
      if (h.empty()) continue;
      if (h != "healthy") return h;
      said = h;
    }
    return said;
  }

  // A component with only informational checks (one whose own HA decides, like Sentinel's)
  // has no health of its own in the daemon: nothing to wait for.
  bool judged(const std::string& component) const {
    const config::ComponentConfig* c = cfg_.findComponent(component);
    return c != nullptr && std::any_of(c->checks.begin(), c->checks.end(),
                                       [](const auto& k) { return !k.informational; });
  }

  std::string precheck(const config::DrillScenario& s, const actions::PlanContext& ctx) {
    if (!judged(s.component)) return s.verify.empty() ? std::string() : runPlan(s.verify, ctx);
    const auto until = Steady::now() + std::chrono::seconds(15);
    while (health(s.component) != "healthy" && Steady::now() < until) pump(std::chrono::milliseconds(50));
    const std::string h = health(s.component);
    if (h != "healthy") {
      return h.empty() ? fmt::format("no state of {} in the event log(s): is `hftguard run` "
                                     "running on this config?",
                                     s.component)
                       : fmt::format("{} is {}, not healthy", s.component, h);
    }
    return s.verify.empty() ? std::string() : runPlan(s.verify, ctx);
  }

  // The failover's outcome: "" when it completed within the component's RTO target.
  std::string awaitFailover(const config::DrillScenario& s, const actions::PlanContext& ctx,
                            Steady::time_point start, WallTime injected, std::size_t from) {
    bool interfered = s.mid_failover.empty();
    while (Steady::now() - start < s.timeout) {
      pump(std::chrono::milliseconds(20));
      poll();
      // Only the outcome of a plan started after the injection counts: a plan still running
      // from the previous run's restore (a Sentinel switching back) is not this run's.
      bool started = false;
      for (std::size_t i = from; i < seen_.size(); ++i) {
        const auto& e = seen_[i];
        if (e.component != s.component || e.fields.value("dry_run", false)) continue;
        if (e.type == "failover_started" && e.at >= injected) started = true;
        if (!started) continue;
        // The plan runs (its first step started, so its start is journaled): now the
        // scenario's interference (kill -9 its daemon).
        if (!interfered && e.type == "step_started") {
          interfered = true;
          if (auto why = runPlan(s.mid_failover, ctx); !why.empty()) return "mid_failover: " + why;
          break;  // what the kill left is read from the next poll on
        }
        if (e.type == "failover_failed") return "failover failed: " + e.reason;
        if (e.type == "failover_completed") {
          return e.fields.value("rto_met", false) ? std::string() : "RTO over target: " + e.reason;
        }
      }
    }
    return fmt::format("no failover outcome within {}", formatDuration(s.timeout));
  }

  // A blip: "" when no failover was triggered (calm: no_failover: none started) while the
  // scenario was watched - the restore included (its health polls read events too, hence
  // `from`, the index at injection).
  std::string awaitCalm(const config::DrillScenario& s, Steady::time_point start,
                        std::size_t from) {
    const Duration watch = (s.fault_for ? *s.fault_for : Duration::zero()) + s.observe;
    while (Steady::now() - start < watch) {
      pump(std::chrono::milliseconds(20));
      poll();
    }
    for (std::size_t i = from; i < seen_.size(); ++i) {
      const auto& e = seen_[i];
      if (e.component != s.component || e.fields.value("dry_run", false)) continue;
      if (s.calm == config::DrillScenario::Calm::NoTrigger && e.type == "failover_triggered")
        return "a failover was triggered: " + e.reason;
      // A self-fence is not a failover: it promotes nothing (self_fence_started). A quorum
      // reached, or a plan deferred, is a failover decided whose start may come later than
      // the watch (the leader can wait for a self-fence): as much a failure here.
      if (s.calm == config::DrillScenario::Calm::NoFailover &&
          (e.type == "failover_started" || e.type == "quorum_reached" ||
           e.type == "failover_deferred"))
        return fmt::format("{}: {}: {}", e.node, e.type, e.reason);
    }
    return {};
  }

  // Failback, then the daemon must see the component healthy again (bounded). With roles,
  // after this run's failover (`failed_over`) the restore has rebuilt its old primary as a
  // standby: the drill returns that member - and only that one: a member fenced by anyone
  // else stays fenced - as an operator would (`hftguard member C M --ready`), and waits
  // until every daemon has it.
  void restore(const config::DrillScenario& s, const actions::PlanContext& ctx,
               bool failed_over = false) {
    if (s.restore.empty()) return;
    if (auto why = runPlan(s.restore, ctx); !why.empty()) {
      fmt::print(out_, "  restore failed: {}\n", why);
      return;
    }
    if (auto why = failed_over ? returnFenced(s, ctx) : std::string(); !why.empty()) {
      fmt::print(out_, "  restore: {}\n", why);
      return;
    }
    if (!judged(s.component)) return;
    const auto until = Steady::now() + std::chrono::seconds(15);
    while (Steady::now() < until) {
      pump(std::chrono::milliseconds(50));
      if (health(s.component) == "healthy") return;
    }
    fmt::print(out_, "  {} is not healthy 15 s after the restore\n", s.component);
  }

  // Returns ctx.old_primary, fenced by this run's failover (epoch ctx.epoch), and waits until
  // every daemon's last roles have it back at that epoch or later.
  std::string returnFenced(const config::DrillScenario& s, const actions::PlanContext& ctx) {
    const config::ComponentConfig* c = cfg_.findComponent(s.component);
    if (c == nullptr || c->members.empty()) return {};
    std::string why;
    auto roles = readRoles(cfg_, *c, &why);
    if (!roles) return "roles of " + s.component + ": " + why;
    const std::string& member = ctx.old_primary;
    const auto& fenced = roles->fenced;
    if (roles->epoch != ctx.epoch || std::find(fenced.begin(), fenced.end(), member) == fenced.end())
      return {};  // the roles moved on since (not this run's to undo)
    coord::Roles after;
    why = changeMember(cfg_, *c, member, true,
                       fmt::format("{} rebuilt by the drill's restore ({}), returned by {}", member,
                                   s.name, operatorName()),
                       after);
    if (!why.empty()) return fmt::format("returning {}: {}", member, why);
    const auto until = Steady::now() + std::chrono::seconds(10);
    while (Steady::now() < until) {
      pump(std::chrono::milliseconds(50));
      poll();
      std::vector<bool> adopted(tails_.size(), false);
      for (std::size_t k = 0; k < seen_.size(); ++k) {
        const auto& e = seen_[k];
        if (e.component != s.component || e.type != "roles_changed") continue;
        const auto& r = e.fields.contains("roles") ? e.fields["roles"] : nlohmann::json::object();
        const auto f = r.value("fenced", nlohmann::json::array());
        adopted[source_[k]] = r.value("epoch", std::uint64_t{0}) >= ctx.epoch &&
                              std::find(f.begin(), f.end(), member) == f.end();
      }
      if (std::all_of(adopted.begin(), adopted.end(), [](bool b) { return b; })) return {};
    }
    return fmt::format("not every daemon adopted {} back as a standby of {} within 10 s", member,
                       s.component);
  }

  // Each step of the plan in order, with its deadline; "" when all held.
  std::string runPlan(const std::string& name, const actions::PlanContext& ctx) {
    const config::PlanConfig* plan = cfg_.findPlan(name);
    if (plan == nullptr) return "no plan " + name;
    for (const auto& step : plan->steps) {
      auto action = actions::makeAction(step, ctx, env_);
      if (!action) return "step " + step.name + ": no action kind " + step.action;
      std::optional<actions::ActionResult> result;
      action->run([&](actions::ActionResult r) { result = std::move(r); });
      const auto until = Steady::now() + step.timeout;
      while (!result && Steady::now() < until) turn();
      if (!result) {
        action->cancel();
        result = actions::ActionResult::failure("timed out after " + formatDuration(step.timeout));
      }
      if (!result->ok && step.on_failure == config::OnFailure::Abort)
        return fmt::format("{} {}: {}", name, step.name, result->detail);
    }
    return {};
  }

  const config::Config& cfg_;
  std::ostream& out_;
  Runtime rt_;
  actions::ActionEnv env_;
  std::vector<EventTail> tails_;
  std::vector<events::Event> seen_;
  std::vector<std::size_t> source_;  // which log each of seen_ came from
  std::string taken_over_;            // the last run's takeover, for its verdict
};

// The drill's network namespace (drill.netns; the partition sandbox's client host): entered
// before any thread starts, so every thread, and every program a step runs, is in it.
std::string enterNetns(const std::string& name) {
  const std::string path = "/run/netns/" + name;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return errno == ENOENT ? fmt::format("no network namespace {} ({}): is the partition "
                                         "sandbox up (scripts/sandbox up --hosts 3)?",
                                         name, path)
           : errno == EACCES
               ? fmt::format("cannot open {}: {} - the partition drill needs root "
                             "(CAP_SYS_ADMIN to enter the namespace, CAP_NET_ADMIN to cut links)",
                             path, std::strerror(errno))
               : fmt::format("cannot open {}: {}", path, std::strerror(errno));
  }
  const int rc = ::setns(fd, CLONE_NEWNET);
  const int error = errno;
  ::close(fd);
  if (rc != 0) {
    return error == EPERM ? fmt::format("entering network namespace {} needs root "
                                        "(CAP_SYS_ADMIN; cutting links needs CAP_NET_ADMIN): run "
                                        "the drill as root",
                                        name)
                          : fmt::format("entering network namespace {}: {}", name,
                                        std::strerror(error));
  }
  return {};
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  if (!f) throw std::runtime_error("cannot write " + path);
}

}  // namespace

int cmdDrill(const Args& args, std::ostream& out, std::ostream& err) {
  auto cfg = loadOrReport(args.config, err);
  if (!cfg) return kExitFailed;
  std::vector<const config::DrillScenario*> scenarios;
  const std::string wanted = args.option("scenario").value_or("");
  std::stringstream names(wanted);
  for (std::string name; std::getline(names, name, ',');) {
    if (name == "all") {
      for (const auto& s : cfg->drill) {
        if (!s.mid_failover.empty() && cfg->coordination.type != "etcd") {
          // Named, it fails (and says why); within "all", it is left out, and said so.
          fmt::print(args.json() ? err : out,
                     "drill {}: not run - it needs coordination: etcd (several daemons)\n",
                     s.name);
          continue;
        }
        scenarios.push_back(&s);
      }
    } else if (const auto* s = cfg->findScenario(name)) {
      scenarios.push_back(s);
    } else {
      std::vector<std::string_view> known;
      for (const auto& sc : cfg->drill) known.push_back(sc.name);
      err << "hftguard drill: no scenario '" << name << "' in the config's drill.scenarios";
      if (auto near = closestMatch(name, known)) err << "; did you mean '" << *near << "'?";
      err << "\n";
      return kExitUsage;
    }
  }
  if (scenarios.empty()) {
    err << "hftguard drill: --scenario NAME[,NAME...] or --scenario all is required\n";
    return kExitUsage;
  }
  const std::string repeatText = args.option("repeat").value_or("1");
  int repeat = 0;
  const auto [end, ec] =
      std::from_chars(repeatText.data(), repeatText.data() + repeatText.size(), repeat);
  if (ec != std::errc{} || end != repeatText.data() + repeatText.size() || repeat < 1 ||
      repeat > 1000) {
    err << "hftguard drill: --repeat must be 1..1000\n";
    return kExitUsage;
  }
  std::vector<std::string> logs;
  std::stringstream listed(args.option("events").value_or(cfg->event_log_path));
  for (std::string path; std::getline(listed, path, ',');) {
    if (!path.empty()) logs.push_back(path);
  }
  if (logs.empty()) {
    err << "hftguard drill: --events needs at least one event log\n";
    return kExitUsage;
  }
  if (!cfg->drill_options.netns.empty()) {
    if (auto why = enterNetns(cfg->drill_options.netns); !why.empty()) {
      err << "hftguard drill: " << why << "\n";
      return kExitFailed;
    }
  }
  setupLogging(spdlog::level::warn);
  // --json: the progress goes to stderr, stdout holds the report (as report.json) alone.
  std::ostream& progress = args.json() ? err : out;
  Drill drill(*cfg, std::move(logs), progress);
  std::vector<drill::RunResult> results;
  for (const auto* s : scenarios) {
    for (int i = 1; i <= repeat; ++i) {
      fmt::print(progress, "drill {} #{} ... ", s->name, i);
      progress.flush();
      results.push_back(drill.run(*s, i));
      const auto& r = results.back();
      fmt::print(progress, "{} ({})\n", r.pass ? "PASS" : "FAIL", r.why);
    }
  }
  if (args.json()) {
    out << drill::json(results);
  } else {
    fmt::print(out, "\n{}", drill::table(results));
  }
  if (auto dir = args.option("report")) {
    std::filesystem::create_directories(*dir);
    writeFile(*dir + "/report.json", drill::json(results));
    writeFile(*dir + "/report.md", drill::markdown(results));
    writeFile(*dir + "/timeline.svg", drill::timelineSvg(results));
    fmt::print(progress, "\nreport: {0}/report.md, {0}/report.json, {0}/timeline.svg\n", *dir);
  }
  const bool all = std::all_of(results.begin(), results.end(), [](auto& r) { return r.pass; });
  return all ? kExitOk : kExitFailed;
}

}  // namespace hftguard::cli

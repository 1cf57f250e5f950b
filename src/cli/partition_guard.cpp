#include "partition_guard.hpp"

#include <algorithm>
#include <tuple>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

namespace hftguard::cli {
namespace {

using decide::Health;

double ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// A self-fence may run without the leader's lease: it only ever takes the local primary out
// of service, and it must run precisely when etcd cannot be reached.
class SelfFenceGrants final : public coord::Coordinator {
 public:
  std::string name() const override { return "self-fence"; }
  std::unique_ptr<coord::Lease> acquire(const std::string& component, coord::Grant& grant) override {
    grant = {true, "self-fence", "cut off from etcd: fencing the primary this host runs of " +
                                     component};
    return std::make_unique<coord::Lease>();
  }
};

// The runner's event types for a self-fence: self_fence_started ... self_fence_completed,
// never read as a failover (nothing is promoted).
std::string selfFenceType(const std::string& type) {
  if (type.starts_with("failover_")) return "self_fence_" + type.substr(9);
  return type;
}

// How long a real failure may take to reach every observer: each samples on its own phase,
// a check needs `fall` failures in a row. A lone "down" held longer than this is a
// disagreement, not a failure still spreading.
Duration disagreementAfter(const config::ComponentConfig& c) {
  Duration longest = std::chrono::seconds(1);
  for (const auto& k : c.checks) longest = std::max<Duration>(longest, k.interval * (k.fall + 1));
  return longest + std::chrono::seconds(1);
}

}  // namespace

PartitionGuard::PartitionGuard(const config::Config& cfg, const Clock& clock,
                               coord::EtcdCoordinator& etcd, decide::Decider& decider,
                               const std::map<std::string, coord::Roles>& roles,
                               actions::ActionEnv& env, Hooks hooks)
    : cfg_(&cfg),
      clock_(clock),
      etcd_(etcd),
      decider_(decider),
      roles_(roles),
      hooks_(std::move(hooks)),
      fence_grants_(std::make_unique<SelfFenceGrants>()),
      fence_runner_(env, *fence_grants_,
                    [this](const std::string& type, const std::string& component,
                           const std::string& reason, nlohmann::json fields) {
                      fields["self_fence"] = true;
                      hooks_.record(selfFenceType(type), component, reason, std::move(fields));
                    }),
      env_(env) {}

PartitionGuard::~PartitionGuard() = default;

const config::MemberConfig* PartitionGuard::primaryMember(const config::ComponentConfig& c) const {
  auto r = roles_.find(c.name);
  return r == roles_.end() ? nullptr : c.findMember(r->second.primary);
}

std::optional<coord::Observation> PartitionGuard::observation(
    const config::ComponentConfig& c) const {
  coord::Observation o;
  o.node = cfg_->node.name;
  switch (decider_.health(c.name)) {
    case Health::Recovering:  // coming back: not a vote for a failover
      o.verdict = "unknown";
      break;
    case Health::Failed: {
      auto f = failed_.find(c.name);
      auto moved = roles_moved_.find(c.name);
      const bool current = f != failed_.end() && f->second.second != "quorum" &&
                           (moved == roles_moved_.end() || f->second.first >= moved->second);
      o.verdict = current ? "down" : "unknown";
      if (current) {  // its first failed sample, never before the roles it names
        WallTime since = failed_since_.count(c.name) ? failed_since_.at(c.name) : f->second.first;
        if (moved != roles_moved_.end()) since = std::max(since, moved->second);
        o.since_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(since.time_since_epoch())
                .count();
      }
      break;
    }
    case Health::Healthy:
    case Health::Suspect:
      o.verdict = "up";
      break;
    default:
      o.verdict = "unknown";
  }
  std::tie(o.primary, o.epoch) = primaryOf(c);
  bool host_only = false;
  for (const config::CheckConfig* k : decider_.downChecks(c.name)) {
    o.failing.push_back(k->name);
    host_only = host_only || k->type == "process" || k->type == "host";
  }
  const config::MemberConfig* m = primaryMember(c);
  o.host_check = o.verdict == "down" && host_only && m != nullptr && m->node() == cfg_->node.name;
  return o;
}

nlohmann::json PartitionGuard::observations() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& c : cfg_->components) {
    if (auto o = observation(c)) out[c.name] = coord::toJson(*o);
  }
  return out;
}

// Every live daemon's view of the component, this one's as it is now (its report in etcd
// may lag by a write).
std::vector<coord::Observation> PartitionGuard::observers(const config::ComponentConfig& c) const {
  std::vector<coord::Observation> out;
  for (const auto& [node, text] : etcd_.daemons()) {
    if (node == cfg_->node.name) continue;
    auto report = nlohmann::json::parse(text, nullptr, false);
    auto seen = coord::observationsIn(report, node);
    if (auto it = seen.find(c.name); it != seen.end()) out.push_back(it->second);
  }
  if (auto mine = observation(c)) out.push_back(*mine);
  return out;
}

std::optional<Admission> PartitionGuard::gate(Pending& p, std::string& stage, std::string& reason,
                                              nlohmann::json& fields) const {
  const config::ComponentConfig* c = cfg_->findComponent(p.d.component);
  if (c == nullptr) return Admission{};
  const auto [primary, epoch] = primaryOf(*c);
  const config::MemberConfig* m = primaryMember(*c);
  const std::string host = m == nullptr ? std::string() : m->node();
  const auto seen = observers(*c);
  const auto q = quorumOf(*c, seen);
  fields = {{"quorum", q.fields()}};
  if (!q.reached) {
    stage = "quorum";
    reason = q.reason;
    return std::nullopt;
  }
  Admission a;
  reason = q.reason;
  // The primary's host is this daemon, which leads: not cut off, nothing to wait for.
  if (!c->members.empty() && p.d.plan == c->plan && host != cfg_->node.name) {
    coord::Presence presence = host.empty() ? coord::Presence::NeverSeen : etcd_.presence(host);
    // Gone is evidence only for this outage: its report went within a lease of the wait's
    // start (not hours ago), and its last word was about this primary and epoch.
    if (presence == coord::Presence::Gone) {
      const auto gone = etcd_.goneAt(host);
      const auto last = coord::observationsIn(
          nlohmann::json::parse(etcd_.lastReport(host), nullptr, false), host);
      auto it = last.find(c->name);
      const Duration window = 2 * cfg_->coordination.lease_ttl;
      const bool recent = gone && *gone + window >= p.since && *gone + window >= clock_.now();
      const bool same = it != last.end() && it->second.primary == primary &&
                        it->second.epoch == epoch;
      if (!recent || !same) presence = coord::Presence::NeverSeen;
    }
    std::optional<coord::Observation> view;
    for (const auto& o : seen) {
      if (o.node == host && presence == coord::Presence::Live) view = o;
    }
    const Duration waited = p.stage == "self_fence" ? clock_.now() - p.stage_since : Duration{};
    const Duration ttl = cfg_->coordination.lease_ttl;
    const auto g = coord::judgeSelfFence(!c->self_fence.empty(), host, presence, view, waited,
                                         2 * ttl + config::leaseMargin(ttl),
                                         cfg_->coordination.self_fence_after);
    fields["self_fence"] = g.reason;
    if (g.wait) {
      stage = "self_fence";
      reason = g.reason;
      return std::nullopt;
    }
    a.self_fenced = g.evidence;
    if (!g.evidence.empty()) fields["self_fenced"] = g.evidence;
  }
  return a;
}

std::optional<Admission> PartitionGuard::admit(const decide::Decision& d,
                                               const std::string& trigger) {
  Pending p{d, trigger, 0, clock_.now(), "", clock_.now()};
  if (auto r = roles_.find(d.component); r != roles_.end()) p.epoch = r->second.epoch;
  std::string stage, reason;
  nlohmann::json fields;
  if (auto a = gate(p, stage, reason, fields)) {
    admitted(p, *a, reason, std::move(fields));
    return a;
  }
  fields["for"] = stage;
  fields["plan"] = d.plan;
  fields["trigger"] = trigger;
  hooks_.record("failover_waiting", d.component,
                fmt::format("plan {} waits for {}: {}", d.plan,
                            stage == "quorum" ? "a quorum of observers"
                                              : "the old primary's host to fence itself",
                            reason),
                std::move(fields));
  p.stage = stage;
  pending_[d.component] = std::move(p);
  return std::nullopt;
}

// Who saw what, recorded before the plan starts; and, when the old primary's host is taken
// to have fenced itself, the partition the majority side found.
void PartitionGuard::admitted(const Pending& p, const Admission& a, const std::string& reason,
                              nlohmann::json fields) {
  const Duration waited = clock_.now() - p.since;
  fields["trigger"] = p.trigger;
  fields["plan"] = p.d.plan;
  if (waited > Duration::zero()) fields["waited_ms"] = ms(waited);
  hooks_.record("quorum_reached", p.d.component,
                waited > Duration::zero()
                    ? fmt::format("plan {} may start after {:.0f}ms: {}", p.d.plan, ms(waited),
                                  reason)
                    : fmt::format("plan {} may start: {}", p.d.plan, reason),
                fields);
  if (a.self_fenced.empty()) return;
  const config::ComponentConfig* c = cfg_->findComponent(p.d.component);
  const config::MemberConfig* m = c == nullptr ? nullptr : primaryMember(*c);
  hooks_.record("partition_detected", p.d.component,
                fmt::format("{} is cut off with the primary {}: {}",
                            m == nullptr ? std::string("its host") : m->node(),
                            m == nullptr ? std::string() : m->name, a.self_fenced),
                {{"host_node", m == nullptr ? std::string() : m->node()},
                 {"primary", m == nullptr ? std::string() : m->name},
                 {"side", "majority"},
                 {"evidence", a.self_fenced}});
}

void PartitionGuard::noteDecision(const decide::Decision& d) {
  if (d.kind == decide::Decision::Kind::StateChanged && d.to == Health::Failed) {
    failed_[d.component] = {d.at, d.rule};
    failed_since_[d.component] = d.breach_started.value_or(d.at);
  }
}

void PartitionGuard::rolesMoved(const std::string& component) {
  roles_moved_[component] = clock_.wallNow();
}

void PartitionGuard::forget(const std::string& component) { pending_.erase(component); }

void PartitionGuard::reevaluate() {
  const bool leading = etcd_.leading();
  std::vector<std::pair<Pending, std::optional<Admission>>> ended;  // acted on after the loop
  for (auto it = pending_.begin(); it != pending_.end();) {
    Pending& p = it->second;
    const std::string& component = it->first;
    const Health h = decider_.health(component);
    auto r = roles_.find(component);
    const bool moved = r != roles_.end() && r->second.epoch != p.epoch;
    if (!leading || moved) {
      if (!leading && !moved) ended.emplace_back(std::move(p), std::nullopt);
      it = pending_.erase(it);
      continue;
    }
    // The outage is over when neither this daemon nor a quorum sees the primary down (a
    // failover the quorum called for goes on while this daemon sees it up).
    const bool quorum_down = quorumOf(component).reached;
    if ((h == Health::Healthy || h == Health::Suspect) && !quorum_down) {
      hooks_.record("failover_skipped", component,
                    fmt::format("plan {} not started: {} is healthy again before it could "
                                "(waited {:.0f}ms for {})",
                                p.d.plan, component, ms(clock_.now() - p.since),
                                p.stage == "quorum" ? "a quorum of observers"
                                                    : "the old primary's host to fence itself"),
                    {{"plan", p.d.plan}, {"trigger", p.trigger}, {"held_by", p.stage}});
      it = pending_.erase(it);
      continue;
    }
    // Recovering is the same outage, not yet over; maintenance holds it as the decider would.
    if ((h != Health::Failed && !quorum_down) || decider_.inMaintenance(component)) {
      ++it;
      continue;
    }
    std::string stage, reason;
    nlohmann::json fields;
    if (auto a = gate(p, stage, reason, fields)) {
      admitted(p, *a, reason, std::move(fields));
      ended.emplace_back(std::move(p), a);
      it = pending_.erase(it);
      continue;
    }
    if (stage != p.stage) {
      p.stage = stage;
      p.stage_since = clock_.now();
      fields["for"] = stage;
      fields["plan"] = p.d.plan;
      fields["trigger"] = p.trigger;
      hooks_.record("failover_waiting", component,
                    fmt::format("plan {} now waits for {}: {}", p.d.plan,
                                stage == "quorum" ? "a quorum of observers"
                                                  : "the old primary's host to fence itself",
                                reason),
                    std::move(fields));
    }
    ++it;
  }
  for (auto& [p, a] : ended) {
    if (a) {
      hooks_.run(p.d, p.trigger, *a);
    } else {
      hooks_.stand_by(p.d, p.trigger);
    }
  }
  if (leading) watchObservers();
}

// The primary the roles name now (a component without roles: its configured label), and
// the roles' epoch (0: not tracked).
std::pair<std::string, std::uint64_t> PartitionGuard::primaryOf(
    const config::ComponentConfig& c) const {
  if (auto r = roles_.find(c.name); r != roles_.end()) return {r->second.primary, r->second.epoch};
  return {c.primary, 0};
}

coord::QuorumVerdict PartitionGuard::quorumOf(const config::ComponentConfig& c,
                                              const std::vector<coord::Observation>& seen) const {
  const auto [primary, epoch] = primaryOf(c);
  const config::MemberConfig* m = primaryMember(c);
  return coord::judgeQuorum(seen, primary, epoch, c.quorum,
                            m == nullptr ? std::string() : m->node(), etcd_.knownDaemons());
}

coord::QuorumVerdict PartitionGuard::quorumOf(const std::string& component) const {
  const config::ComponentConfig* c = cfg_->findComponent(component);
  return c == nullptr ? coord::QuorumVerdict{} : quorumOf(*c, observers(*c));
}

// The leader, on what the observers say:
//  - a quorum sees a primary down that this daemon's own checks do not: its view is one vote,
//    the quorum's is the cluster's - it tells its decider (rule `quorum`), which fails the
//    component over through the usual gates; once per such episode;
//  - some see it down and no quorum agrees, for longer than a real failure takes to reach
//    them all: said once per set of dissenters (observer_disagrees).
void PartitionGuard::watchObservers() {
  const SteadyTime now = clock_.now();
  for (const auto& c : cfg_->components) {
    const auto q = quorumOf(c.name);
    const Health h = decider_.health(c.name);
    // Once per episode of a quorum seeing it down, whoever noticed first: not again as the
    // outage ends and this daemon is healthy before the others.
    if (!q.reached) {
      quorum_fired_.erase(c.name);
    } else if (quorum_fired_.insert(c.name).second && h != Health::Failed &&
               h != Health::Recovering && !pending_.count(c.name) && !c.plan.empty()) {
      std::optional<WallTime> since;  // the RTO counts from the first failed sample seen
      if (q.earliest_down_ms > 0) {
        since = WallTime(std::chrono::duration_cast<WallTime::duration>(
            std::chrono::milliseconds(q.earliest_down_ms)));
      }
      hooks_.decided(decider_.reportQuorum(c.name, q.reason, now, clock_.wallNow(), since));
    }
    Dissent& d = dissent_[c.name];
    if (q.reached || q.down_by.empty()) {
      d = {};
      continue;
    }
    if (d.down_by != q.down_by) d = {q.down_by, now, false};
    if (d.said || now - d.since < disagreementAfter(c)) continue;
    d.said = true;
    hooks_.record("observer_disagrees", c.name,
                  fmt::format("{} see{} the primary down, but no quorum agrees - no "
                              "failover: {}",
                              fmt::join(q.down_by, ", "), q.down_by.size() == 1 ? "s" : "",
                              q.reason),
                  q.fields());
  }
}

void PartitionGuard::cutOff(bool lost, const std::string& why, SteadyTime expiry) {
  if (!lost) {
    if (cut_off_) {
      hooks_.record("etcd_regained", "",
                    fmt::format("{} reaches etcd again: {}", cfg_->node.name, why), {});
      spdlog::warn("etcd: reached again ({}); a self-fenced primary stays fenced until an "
                   "operator returns it",
                   why);
    }
    cut_off_ = false;
    fenced_.clear();
    return;
  }
  cut_off_ = true;
  const SteadyTime now = clock_.now();
  nlohmann::json f = {{"why", why}};
  if (expiry != SteadyTime{}) f["lease_expires_in_ms"] = ms(expiry - now);
  hooks_.record("etcd_lost", "",
                fmt::format("{} is cut off from etcd: {}", cfg_->node.name, why), std::move(f));
  spdlog::error("etcd: this daemon is cut off: {}", why);
  for (const auto& c : cfg_->components) {
    const config::MemberConfig* m = primaryMember(c);
    if (m == nullptr || m->node() != cfg_->node.name) continue;  // not its primary's host
    if (!c.self_fence.empty() && !fence_runner_.running(c.name)) selfFence(c, why, expiry, {});
    if (c.triggers.network_partition) {
      hooks_.decided(decider_.reportPartition(
          c.name,
          fmt::format("{} (the host of primary {}) is cut off from etcd: {}", cfg_->node.name,
                      m->name, why),
          now, clock_.wallNow()));
    }
  }
}

// The component's self_fence plan, against the primary member on this host ({old_primary.*}),
// to end before the lease can have expired (`expiry`, less the margin): after that, the
// majority's leader may promote.
void PartitionGuard::selfFence(const config::ComponentConfig& c, const std::string& why,
                               SteadyTime expiry, std::function<void()> done) {
  const config::PlanConfig* plan = cfg_->findPlan(c.self_fence);
  const config::MemberConfig* m = primaryMember(c);
  if (plan == nullptr || m == nullptr) {
    if (done) done();
    return;
  }
  const SteadyTime started = clock_.now();
  const SteadyTime deadline =
      expiry == SteadyTime{} ? started + config::planBudget(*plan)
                             : expiry - config::leaseMargin(cfg_->coordination.lease_ttl);
  actions::RunRequest request;
  request.component = c.name;
  request.plan = plan;
  request.rto_target = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - started);
  const coord::Roles& r = roles_.at(c.name);
  request.context = {c.name, cfg_->node.name, m->name, "", {}, {},
                     "self-fence: this host is cut off from etcd (" + why + ")"};
  request.context.epoch = r.epoch;
  for (const auto& [k, v] : m->values) request.context.members["old_primary." + k] = v;
  std::string refused;
  const bool started_ok = fence_runner_.start(
      std::move(request),
      [this, component = c.name, plan = plan->name, started, deadline,
       done](const actions::RunReport& report) {
        const SteadyTime now = clock_.now();
        const bool in_time = now <= deadline;
        spdlog::log(report.ok && in_time ? spdlog::level::warn : spdlog::level::critical,
                    "{}: self-fence {} in {:.0f}ms, {:.0f}ms {} the lease could expire",
                    component, report.ok ? "done" : "FAILED", ms(now - started),
                    std::abs(ms(deadline - now)), in_time ? "before" : "AFTER");
        if (report.ok) fenced_.insert(component);
        if (report.ok && !in_time) {  // done, but the other side may have promoted before
          hooks_.record("self_fence_failed", component,
                        fmt::format("self-fence plan {} ended {:.0f}ms after this host's lease "
                                    "could expire: the other side may have promoted before",
                                    plan, ms(now - deadline)),
                        {{"plan", plan}, {"self_fence", true}, {"late_ms", ms(now - deadline)}});
        }
        if (done) done();
        // The run leaves the runner after this callback: look once the loop turns.
        boost::asio::post(env_.io, [this] { whenIdle({}); });
      },
      &refused);
  if (!started_ok) {
    hooks_.record("self_fence_failed", c.name,
                  fmt::format("self-fence plan {} not started: {}", plan->name, refused),
                  {{"plan", plan->name}, {"self_fence", true}});
    if (done) done();
  }
}

// Stopping while etcd cannot be told so: the others will see this daemon's lease run out and
// take its host for cut off and fenced - so it fences, then stops.
void PartitionGuard::whenIdle(std::function<void()> done) {
  if (done) idle_waiters_.push_back(std::move(done));
  if (!fence_runner_.idle()) return;
  auto waiters = std::move(idle_waiters_);
  idle_waiters_.clear();
  for (auto& w : waiters) w();
}

void PartitionGuard::fenceBeforeExit(const std::string& why, SteadyTime expiry,
                                     std::function<void()> done) {
  hooks_.record("etcd_lost", "",
                fmt::format("{} stops while it cannot tell etcd ({}): fencing the primaries it "
                            "runs first",
                            cfg_->node.name, why),
                {{"why", why}, {"stopping", true}});
  for (const auto& c : cfg_->components) {
    const config::MemberConfig* m = primaryMember(c);
    if (m == nullptr || m->node() != cfg_->node.name || c.self_fence.empty()) continue;
    // The cut-off's self-fence runs already, or has fenced it since etcd was last reached.
    if (fence_runner_.running(c.name) || fenced_.count(c.name)) continue;
    selfFence(c, "stopping while etcd is unreachable: " + why, expiry, {});
  }
  whenIdle(std::move(done));
}

std::string PartitionGuard::busyWith() const {
  if (!pending_.empty()) {
    const auto& [component, p] = *pending_.begin();
    return "a failover of " + component + " waits (" + p.stage + ")";
  }
  if (!fence_runner_.idle()) return "a self-fence runs";
  return {};
}

}  // namespace hftguard::cli

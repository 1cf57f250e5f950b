#include "hftguard/probes/scheduler.hpp"

#include <algorithm>
#include <optional>
#include <queue>
#include <random>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

namespace hftguard::probes {
namespace asio = boost::asio;

std::vector<CheckRef> allChecks(const config::Config& cfg) {
  std::vector<CheckRef> out;
  for (const auto& component : cfg.components) {
    for (const auto& check : component.checks) out.push_back({&component, &check});
  }
  return out;
}

// Shared with the callbacks of a run, so a probe answering after the runner is gone, or
// after the deadline, finds a closed generation and is ignored.
struct CheckRunner::State {
  State(ProbeEnv& e, CheckRef r, bool own)
      : env(e), ref(r), own_deadline(own), deadline(e.io), probe(makeProbe(*r.check, e)) {}

  ProbeEnv& env;
  CheckRef ref;
  bool own_deadline;
  asio::steady_timer deadline;
  std::unique_ptr<Probe> probe;
  std::uint64_t generation = 0;
  bool open = false;
  SteadyTime scheduled{};
  SteadyTime started{};
  Done done;

  void expire(std::uint64_t gen) {
    if (!open || generation != gen) return;
    if (probe) probe->cancel();
    finish(gen, {ProbeStatus::Timeout,
                 fmt::format("no answer within {}", formatDuration(ref.check->timeout)),
                 {}});
  }

  void finish(std::uint64_t gen, ProbeOutcome outcome) {
    if (!open || gen != generation) return;
    open = false;
    if (own_deadline) deadline.cancel();
    ProbeResult r;
    r.component = ref.component->name;
    r.check = ref.check->name;
    r.type = ref.check->type;
    r.layer = ref.check->layer;
    r.informational = ref.check->informational;
    r.status = outcome.status;
    r.reason = std::move(outcome.reason);
    r.observed = std::move(outcome.observed);
    r.scheduled = scheduled;
    r.started = started;
    r.latency = env.clock.now() - started;
    r.at = env.clock.wallNow();
    Done cb = std::move(done);
    cb(r);
  }
};

CheckRunner::CheckRunner(ProbeEnv& env, CheckRef ref, bool own_deadline)
    : ref_(ref), state_(std::make_shared<State>(env, ref, own_deadline)) {}

CheckRunner::~CheckRunner() { abandon(); }

bool CheckRunner::busy() const { return state_->open; }
std::uint64_t CheckRunner::generation() const { return state_->generation; }
void CheckRunner::expire(std::uint64_t generation) { state_->expire(generation); }

void CheckRunner::abandon() {
  if (!state_->open) return;
  state_->open = false;
  if (state_->own_deadline) state_->deadline.cancel();
  if (state_->probe) state_->probe->cancel();
}

void CheckRunner::rebind(CheckRef ref) {
  ref_ = ref;
  state_->ref = ref;
}

void CheckRunner::retarget(CheckRef ref) {
  abandon();
  auto next = std::make_shared<State>(state_->env, ref, state_->own_deadline);
  next->generation = state_->generation;  // a deadline of the abandoned run stays stale
  state_ = std::move(next);
  ref_ = ref;
}

bool CheckRunner::run(SteadyTime scheduled, Done done) {
  State& s = *state_;
  if (s.open) return false;
  s.open = true;
  const std::uint64_t gen = ++s.generation;
  s.scheduled = scheduled;
  s.started = s.env.clock.now();
  s.done = std::move(done);
  std::weak_ptr<State> weak = state_;
  // The deadline is armed before the probe starts, so even a probe that answers inside
  // start() finds a consistent state.
  if (s.own_deadline) {
    s.deadline.expires_after(ref_.check->timeout);
    s.deadline.async_wait([weak, gen](boost::system::error_code ec) {
      auto st = weak.lock();
      if (!ec && st) st->expire(gen);
    });
  }
  if (!s.probe) {
    s.finish(gen, ProbeOutcome::error(fmt::format("no probe for type '{}'", ref_.check->type)));
    return true;
  }
  s.probe->start([weak, gen](ProbeOutcome outcome) {
    if (auto st = weak.lock()) st->finish(gen, std::move(outcome));
  });
  return true;
}

// All checks share one timer over a queue of due times. The timer is armed a little
// (the slack) after the earliest due time and runs every check due by then in one wake-up:
// at a thousand checks a second, waking once per check costs more CPU than the checks
// themselves. The slack is a tenth of the check's interval, at most kMaxSlack, so a 10ms
// check is never held more than 1ms (docs/performance.md has the measurements).
constexpr Duration kMaxSlack = std::chrono::milliseconds(3);

struct Scheduler::Impl {
  struct Entry {
    Entry(ProbeEnv& env, CheckRef ref) : runner(env, ref, /*own_deadline=*/false) {}
    CheckRunner runner;
    SteadyTime base{};  // slot 0; slot n is due at base + n * interval (+ jitter)
    std::uint64_t slot = 0;
    // A slot that came due while the previous run was still open: it starts as soon as that
    // run ends. A run that hits its deadline ends a moment after the next slot is due when
    // timeout == interval; skipping that slot would halve the cadence of a hung check.
    std::optional<SteadyTime> waiting;
    // Its check is gone from the config (a reload): never run again. Kept in place, so the
    // indices in the queues stay valid.
    bool removed = false;
  };
  struct Due {
    SteadyTime at;
    std::size_t entry;
    bool operator>(const Due& o) const { return at > o.at; }
  };
  // A run's deadline. Most runs end long before theirs: an entry whose run has ended is
  // dropped when it reaches the top, so the timer is never armed for one.
  struct Deadline {
    SteadyTime at;
    std::size_t entry;
    std::uint64_t generation;
    bool operator>(const Deadline& o) const { return at > o.at; }
  };

  Impl(ProbeEnv& e, const config::Config& c, Sink s, std::uint64_t seed)
      : env(e), cfg(&c), sink(std::move(s)), rng(seed), wake(e.io) {
    for (const CheckRef& ref : allChecks(c)) {
      entries.push_back(std::make_unique<Entry>(env, ref));
    }
  }

  Duration randomUpTo(Duration span) {
    if (span <= Duration::zero()) return Duration::zero();
    std::uniform_int_distribution<Duration::rep> d(0, span.count() - 1);
    return Duration{d(rng)};
  }

  void enqueue(std::size_t index) {
    Entry& e = *entries[index];
    const Duration interval = e.runner.ref().check->interval;
    const auto jitterSpan = std::chrono::duration_cast<Duration>(interval * cfg->probes.jitter);
    queue.push(
        {e.base + interval * static_cast<Duration::rep>(e.slot) + randomUpTo(jitterSpan), index});
  }

  bool live(const Deadline& d) const {
    const CheckRunner& r = entries[d.entry]->runner;
    return r.busy() && r.generation() == d.generation;
  }

  std::optional<SteadyTime> nextDeadline() {
    while (!deadlines.empty() && !live(deadlines.top())) deadlines.pop();
    if (deadlines.empty()) return std::nullopt;
    return deadlines.top().at;
  }

  Duration slackOf(std::size_t index) const {
    return std::min(kMaxSlack, entries[index]->runner.ref().check->interval / 10);
  }

  void arm() {
    if (!running) return;  // a sink that stopped the scheduler mid-wake leaves it stopped
    std::optional<SteadyTime> at;
    if (!queue.empty()) at = queue.top().at + slackOf(queue.top().entry);
    if (auto d = nextDeadline(); d && (!at || *d < *at)) at = d;
    if (!at) {
      armed.reset();
      return;
    }
    armed = at;
    wake.expires_at(*at);
    wake.async_wait([this](boost::system::error_code ec) {
      if (!ec) onWake();
    });
  }

  void onWake() {
    armed.reset();
    const SteadyTime now = env.clock.now();
    // Deadlines first: a hung run that ends now frees its check for a slot due now.
    while (auto d = nextDeadline()) {
      if (*d > now || !running) break;
      const Deadline expired = deadlines.top();
      deadlines.pop();
      entries[expired.entry]->runner.expire(expired.generation);
    }
    // Slots due within their slack from now start in this wake-up too, a little early,
    // instead of costing a wake-up of their own: each wake covers twice the slack.
    while (running && !queue.empty() && queue.top().at <= now + slackOf(queue.top().entry)) {
      const Due due = queue.top();
      queue.pop();
      fire(due.entry, due.at, now);
    }
    arm();
  }

  void fire(std::size_t index, SteadyTime due, SteadyTime now) {
    Entry& e = *entries[index];
    if (e.removed) return;
    if (!e.runner.busy()) {
      if (e.waiting) {  // a slot still waiting when a newer one can start is superseded
        e.waiting.reset();
        ++stats.skipped_busy;
      }
      start(index, due);
    } else if (!e.waiting) {
      e.waiting = due;
      ++stats.waited_busy;
    } else {
      ++stats.skipped_busy;
    }
    if (!running) return;  // the run's sink stopped the scheduler: nothing more is queued
    // Next slot on the absolute grid; slots already in the past are skipped, not bunched.
    const Duration interval = e.runner.ref().check->interval;
    ++e.slot;
    const SteadyTime next = e.base + interval * static_cast<Duration::rep>(e.slot);
    if (next < now) {
      const auto behind = static_cast<std::uint64_t>((now - next) / interval) + 1;
      e.slot += behind;
      stats.skipped_behind += behind;
    }
    enqueue(index);
  }

  void start(std::size_t index, SteadyTime due) {
    CheckRunner& runner = entries[index]->runner;
    const SteadyTime deadline = env.clock.now() + runner.ref().check->timeout;
    if (!runner.run(due, [this, index](const ProbeResult& r) { ended(index, r); })) return;
    ++stats.runs;
    if (runner.busy()) deadlines.push({deadline, index, runner.generation()});
  }

  // A run's result: hand it on, then start the slot that waited for it. Started from a
  // fresh handler, not from inside the probe's or the deadline's callback.
  void ended(std::size_t index, const ProbeResult& r) {
    const std::weak_ptr<int> alive = life;
    sink(r);
    if (alive.expired() || !entries[index]->waiting) return;
    asio::post(env.io, [this, index, alive] {
      if (alive.expired() || !running) return;
      Entry& e = *entries[index];
      if (!e.waiting || e.runner.busy()) return;
      const SteadyTime due = *e.waiting;
      e.waiting.reset();
      start(index, due);
      // Outside a wake-up: the new run's deadline may come before the armed time.
      if (auto d = nextDeadline(); d && (!armed || *d < *armed)) {
        wake.cancel();
        arm();
      }
    });
  }

  ProbeEnv& env;
  const config::Config* cfg;  // replaced by a reload
  Sink sink;
  std::shared_ptr<int> life = std::make_shared<int>(0);  // expires with the scheduler
  std::mt19937_64 rng;
  asio::steady_timer wake;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> queue;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines;
  std::optional<SteadyTime> armed;  // when the one timer fires; none while disarmed
  bool running = false;
  std::vector<std::unique_ptr<Entry>> entries;
  SchedulerStats stats;
};

Scheduler::Scheduler(ProbeEnv& env, const config::Config& cfg, Sink sink, std::uint64_t seed)
    : impl_(std::make_unique<Impl>(env, cfg, std::move(sink), seed)) {}

Scheduler::~Scheduler() { stop(); }

void Scheduler::start() {
  impl_->running = true;
  const SteadyTime now = impl_->env.clock.now();
  for (std::size_t i = 0; i < impl_->entries.size(); ++i) {
    auto& e = *impl_->entries[i];
    if (e.removed) continue;
    // A random phase spreads checks with equal intervals over the interval.
    e.base = now + impl_->randomUpTo(e.runner.ref().check->interval);
    e.slot = 0;
    impl_->enqueue(i);
  }
  impl_->arm();
}

void Scheduler::stop() {
  impl_->running = false;
  impl_->wake.cancel();
  impl_->armed.reset();
  impl_->queue = {};
  impl_->deadlines = {};
  for (auto& e : impl_->entries) {
    e->waiting.reset();
    e->runner.abandon();
  }
}

void Scheduler::retarget(const config::ComponentConfig& component,
                         const std::vector<const config::CheckConfig*>& checks) {
  for (auto& e : impl_->entries) {
    const CheckRef& ref = e->runner.ref();
    if (e->removed || ref.component->name != component.name) continue;
    // `checks` is in the order of the component's checks: found by the check's name.
    const config::CheckConfig* next = nullptr;
    for (std::size_t j = 0; j < component.checks.size() && j < checks.size(); ++j) {
      if (component.checks[j].name == ref.check->name) next = checks[j];
    }
    if (next == nullptr || next == ref.check) continue;
    // Same name, interval and timeout (the variants differ in their targets only): the
    // entry keeps its place on the grid; a run open against the old target is dropped.
    e->waiting.reset();
    e->runner.retarget({ref.component, next});
  }
}

void Scheduler::reconfigure(const config::Config& next, const std::vector<CheckRef>& refs) {
  Impl& m = *impl_;
  m.cfg = &next;
  const SteadyTime now = m.env.clock.now();
  std::vector<bool> kept(m.entries.size(), false);
  for (const CheckRef& ref : refs) {
    std::optional<std::size_t> at;
    for (std::size_t i = 0; i < m.entries.size() && !at; ++i) {
      const CheckRef& was = m.entries[i]->runner.ref();
      if (!m.entries[i]->removed && !kept[i] && was.component->name == ref.component->name &&
          was.check->name == ref.check->name) {
        at = i;
      }
    }
    if (!at) {  // a new check: its first run within one interval, as at start
      m.entries.push_back(std::make_unique<Impl::Entry>(m.env, ref));
      kept.push_back(true);
      if (m.running) {
        auto& e = *m.entries.back();
        e.base = now + m.randomUpTo(ref.check->interval);
        m.enqueue(m.entries.size() - 1);
      }
      continue;
    }
    kept[*at] = true;
    Impl::Entry& e = *m.entries[*at];
    const CheckRef was = e.runner.ref();
    if (*was.check == *ref.check) {  // unchanged: its open run and its slot go on
      e.runner.rebind(ref);
      continue;
    }
    // Changed: its next slot, already queued, runs the new probe; a new interval counts from
    // that slot. A run open under the old settings is dropped.
    if (ref.check->interval != was.check->interval) {
      e.base += was.check->interval * static_cast<Duration::rep>(e.slot);
      e.slot = 0;
    }
    e.waiting.reset();
    e.runner.retarget(ref);
  }
  for (std::size_t i = 0; i < kept.size(); ++i) {
    if (kept[i] || m.entries[i]->removed) continue;
    m.entries[i]->removed = true;
    m.entries[i]->waiting.reset();
    m.entries[i]->runner.abandon();
  }
  if (m.running) {  // a new check may be due before the armed wake-up
    m.wake.cancel();
    m.arm();
  }
}

const SchedulerStats& Scheduler::stats() const { return impl_->stats; }
std::size_t Scheduler::size() const {
  return static_cast<std::size_t>(std::count_if(impl_->entries.begin(), impl_->entries.end(),
                                                [](const auto& e) { return !e->removed; }));
}

}  // namespace hftguard::probes

#include "hftguard/alerts/dispatcher.hpp"

#include <deque>
#include <map>
#include <set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "channels.hpp"

namespace hftguard::alerts {
namespace {

double msOf(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// One attempt is bounded by this, or by what is left of the alert's deadline.
constexpr Duration kAttemptTimeout = std::chrono::seconds(10);

}  // namespace

struct AlertDispatcher::Impl {
  struct Job {
    Alert alert;
    SteadyTime queued{};
    SteadyTime deadline{};
    int attempts = 0;
    std::string last_error;
    bool waiting_retry = false;
    bool superseded = false;  // a later alert of its incident took its place while it waited
  };
  struct Lane {
    const config::ChannelConfig* cfg = nullptr;
    std::unique_ptr<channels::Channel> channel;
    std::deque<std::shared_ptr<Job>> queue;
    int in_flight = 0;
    int backing_off = 0;              // waiting for a retry
    std::set<std::string> triggered;  // incidents this channel was sent a trigger of
    // Per incident, the one alert being delivered or waiting to be retried: the next alert of
    // that incident waits for it, so on-call reads an incident's messages in order.
    std::map<std::string, std::shared_ptr<Job>> active;
  };

  Impl(boost::asio::io_context& context, net::HttpClient& h, const Clock& c,
       const config::Config& config, Record r)
      : io(context), clock(c), cfg(&config), record(std::move(r)), env{context, h} {
    for (const auto& ch : cfg->alerts.channels) {
      auto lane = std::make_unique<Lane>();
      lane->cfg = &ch;
      lane->channel = channels::makeChannel(ch, env);
      lanes.push_back(std::move(lane));
    }
  }

  Lane* find(const std::string& name) {
    for (auto& l : lanes)
      if (l->cfg->name == name) return l.get();
    return nullptr;
  }

  std::size_t queued() const {
    std::size_t n = 0;
    for (const auto& l : lanes) n += l->queue.size();
    return n;
  }

  nlohmann::json fieldsOf(const Lane& lane, const Job& job) const {
    nlohmann::json f = {{"channel", lane.cfg->name},
                        {"channel_type", lane.cfg->type},
                        {"incident", job.alert.incident},
                        {"alert_action", toString(job.alert.action)},
                        {"severity", config::toString(job.alert.severity)},
                        {"attempts", job.attempts},
                        {"latency_ms", msOf(clock.now() - job.queued)}};
    if (!job.alert.event_id.empty()) f["event"] = job.alert.event_id;
    return f;
  }

  void enqueue(Lane& lane, const Alert& a) {
    auto job = std::make_shared<Job>();
    job->alert = a;
    job->queued = clock.now();
    job->deadline = job->queued + cfg->alerts.deadline;
    if (queued() >= static_cast<std::size_t>(cfg->alerts.queue_limit) && !dropOldestInfo()) {
      job->last_error = fmt::format("dropped: alert queue full ({} waiting)", queued());
      return giveUp(lane, *job);
    }
    if (a.action == Alert::Action::Trigger) lane.triggered.insert(a.incident);
    supersede(lane, a.incident);
    lane.queue.push_back(std::move(job));
    pump(lane);
  }

  // An alert of the incident waits for a retry: the newer one says where the incident
  // stands now, so the older one is dropped rather than delivered after it. One in flight
  // is left to finish (it cannot be taken back); the newer waits for it.
  void supersede(Lane& lane, const std::string& incident) {
    auto it = incident.empty() ? lane.active.end() : lane.active.find(incident);
    if (it == lane.active.end() || !it->second->waiting_retry) return;
    auto job = it->second;
    job->superseded = true;
    lane.active.erase(it);
    --lane.backing_off;
    nlohmann::json f = fieldsOf(lane, *job);
    f["error"] = job->last_error;
    record("alert_superseded", job->alert.component,
           fmt::format("{} alert to {} superseded by a later alert of its incident while waiting "
                       "to retry (last error: {})",
                       toString(job->alert.action), lane.cfg->name, job->last_error),
           f);
  }

  // Makes room by dropping the oldest waiting info alert; false when there is none.
  bool dropOldestInfo() {
    Lane* from = nullptr;
    std::deque<std::shared_ptr<Job>>::iterator oldest;
    for (auto& l : lanes) {
      for (auto it = l->queue.begin(); it != l->queue.end(); ++it) {
        if ((*it)->alert.severity != config::Severity::Info) continue;
        if (from == nullptr || (*it)->queued < (*oldest)->queued) {
          from = l.get();
          oldest = it;
        }
        break;  // each queue is in arrival order
      }
    }
    if (from == nullptr) return false;
    auto job = *oldest;
    from->queue.erase(oldest);
    release(*from, job);  // a retry waiting its turn may hold its incident
    job->last_error = fmt::format("dropped: alert queue full ({} waiting)", queued() + 1);
    giveUp(*from, *job);
    return true;
  }

  // Starts waiting alerts in arrival order, skipping those whose incident has an alert
  // still being delivered or retried.
  void pump(Lane& lane) {
    // The scan starts over after each start: a delivery that ends at once may pump again.
    for (bool started = true; started;) {
      started = false;
      for (auto it = lane.queue.begin();
           !stopped && lane.in_flight < cfg->alerts.max_in_flight && it != lane.queue.end(); ++it) {
        auto job = *it;
        const std::string& incident = job->alert.incident;
        auto holder = incident.empty() ? lane.active.end() : lane.active.find(incident);
        if (holder != lane.active.end() && holder->second != job) continue;
        lane.queue.erase(it);
        if (!incident.empty()) lane.active[incident] = job;
        attempt(lane, job);
        started = true;
        break;
      }
    }
  }

  // The job's delivery ended (sent or given up): its incident's next alert may go.
  void release(Lane& lane, const std::shared_ptr<Job>& job) {
    auto it = lane.active.find(job->alert.incident);
    if (it != lane.active.end() && it->second == job) lane.active.erase(it);
  }

  void attempt(Lane& lane, const std::shared_ptr<Job>& job) {
    const Duration left = job->deadline - clock.now();
    if (left <= Duration::zero()) {
      release(lane, job);
      return giveUp(lane, *job);
    }
    ++job->attempts;
    ++lane.in_flight;
    const std::uint64_t gen = generation;
    std::weak_ptr<bool> live = alive;  // a delivery may answer after the dispatcher is gone
    lane.channel->send(job->alert, std::min(left, kAttemptTimeout),
                       [this, &lane, job, gen, live](std::string error, bool retry) {
                         if (live.expired() || gen != generation) return;
                         --lane.in_flight;
                         if (error.empty()) {
                           release(lane, job);
                           record("alert_sent", job->alert.component,
                                  fmt::format("{} alert to {}: {}", toString(job->alert.action),
                                              lane.cfg->name, job->alert.title),
                                  fieldsOf(lane, *job));
                         } else {
                           job->last_error = std::move(error);
                           if (retry) {
                             later(lane, job);
                           } else {
                             release(lane, job);
                             giveUp(lane, *job);
                           }
                         }
                         pump(lane);
                       });
  }

  // Exponential backoff, never past the deadline.
  void later(Lane& lane, const std::shared_ptr<Job>& job) {
    Duration wait = cfg->alerts.initial_backoff;
    for (int i = 1; i < job->attempts && wait < cfg->alerts.max_backoff; ++i) wait *= 2;
    wait = std::min(wait, cfg->alerts.max_backoff);
    if (clock.now() + wait >= job->deadline) {
      release(lane, job);
      return giveUp(lane, *job);
    }
    auto timer = std::make_shared<boost::asio::steady_timer>(io, wait);
    timers.insert(timer);
    ++lane.backing_off;
    job->waiting_retry = true;
    timer->async_wait([this, &lane, job, timer](boost::system::error_code ec) {
      timers.erase(timer);
      if (ec || stopped || job->superseded) return;
      --lane.backing_off;
      job->waiting_retry = false;
      lane.queue.push_front(job);
      pump(lane);
    });
  }

  void giveUp(Lane& lane, const Job& job) {
    nlohmann::json f = fieldsOf(lane, job);
    f["error"] = job.last_error;
    record("alert_failed", job.alert.component,
           fmt::format("{} alert to {} given up after {} attempt(s): {}",
                       toString(job.alert.action), lane.cfg->name, job.attempts, job.last_error),
           f);
  }

  void stop() {
    stopped = true;
    ++generation;
    for (auto& t : timers) t->cancel();
    timers.clear();
    for (auto& l : lanes) {
      l->queue.clear();
      l->active.clear();
      l->in_flight = 0;
      l->backing_off = 0;
    }
  }

  boost::asio::io_context& io;
  const Clock& clock;
  const config::Config* cfg;  // replaced by a reload (its alerts section never changes)
  Record record;
  channels::ChannelEnv env;
  std::vector<std::unique_ptr<Lane>> lanes;
  std::set<std::shared_ptr<boost::asio::steady_timer>> timers;
  std::uint64_t generation = 0;
  bool stopped = false;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
};

AlertDispatcher::AlertDispatcher(boost::asio::io_context& io, net::HttpClient& http,
                                 const Clock& clock, const config::Config& cfg, Record record)
    : impl_(std::make_unique<Impl>(io, http, clock, cfg, std::move(record))) {}

void AlertDispatcher::rebind(const config::Config& cfg) { impl_->cfg = &cfg; }

AlertDispatcher::~AlertDispatcher() {
  impl_->stop();
  impl_->alive.reset();
}

void AlertDispatcher::submit(const Alert& a) {
  const config::ComponentConfig* c = impl_->cfg->findComponent(a.component);
  for (auto& lane : impl_->lanes) {
    if (c != nullptr && std::find(c->alert_channels.begin(), c->alert_channels.end(),
                                  lane->cfg->name) == c->alert_channels.end())
      continue;
    if (a.action == Alert::Action::Resolve) {
      if (lane->triggered.erase(a.incident) == 0) continue;
    } else if (a.severity < lane->cfg->min_severity) {
      continue;
    }
    impl_->enqueue(*lane, a);
  }
}

bool AlertDispatcher::submitTo(const std::string& channel, const Alert& a) {
  bool any = false;
  for (auto& lane : impl_->lanes) {
    if (!channel.empty() && lane->cfg->name != channel) continue;
    impl_->enqueue(*lane, a);
    any = true;
  }
  return any;
}

std::size_t AlertDispatcher::pending() const {
  std::size_t n = impl_->queued();
  for (const auto& l : impl_->lanes) n += static_cast<std::size_t>(l->in_flight + l->backing_off);
  return n;
}

void AlertDispatcher::stop() { impl_->stop(); }

}  // namespace hftguard::alerts

#include "hftguard/events/event_log.hpp"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hftguard::events {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kBatchLines = 512;
constexpr std::size_t kBatchBytes = 1 << 20;
constexpr Duration kMaxRetry = std::chrono::seconds(1);
constexpr Duration kExitWait = std::chrono::seconds(5);

// A line a step stopped waiting for says so when it finally reaches the disk.
void appendLine(std::string& out, const std::string& line, bool late) {
  if (!late || line.size() < 2) {
    out += line;
    return;
  }
  out.append(line, 0, line.size() - 2);  // every line ends with "}\n"
  out += ",\"written_late\":true}\n";
}

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

struct EventLog::Core : std::enable_shared_from_this<Core> {
  struct Entry {
    std::uint64_t seq;
    std::string line;
  };
  struct Waiter {
    std::function<void(bool)> done;
    SteadyTime deadline;
  };

  explicit Core(Options o) : options(std::move(o)) {}

  Options options;

  // Shared by the loop and the writer thread, under mu.
  mutable std::mutex mu;
  std::condition_variable wake;     // the writer: work, a kick, a reopen, the end
  std::condition_variable written;  // flush() and exit: a batch written or failed
  std::deque<Entry> queue;          // not yet on disk, in order
  std::uint64_t last_seq = 0;
  std::uint64_t durable_seq = 0;
  std::uint64_t late_upto = 0;  // lines up to this one are marked written_late
  std::uint64_t dropped = 0;
  std::uint64_t failed_writes = 0;
  std::uint64_t written_late = 0;
  bool failing = false;
  SteadyTime failing_since{};
  std::string error;
  bool kick = false;
  bool reopen_requested = false;
  bool stopping = false;
  bool exited = false;
  SteadyTime stop_deadline{};

  // The writer thread's own (the constructor's before it starts).
  int fd = -1;
  std::thread writer;

  // The loop's own.
  std::multimap<std::uint64_t, Waiter> waiters;  // equal keys keep their order
  std::unique_ptr<boost::asio::steady_timer> timer;
  bool timer_armed = false;
  SteadyTime timer_at{};
  bool loop_failing = false;
  bool stall_warned = false;  // once per stall, not once per step
  bool closed = false;
  std::function<void(const Health&)> listener;

  int openFile() const {
    std::error_code ec;
    const auto dir = std::filesystem::path(options.path).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    // Read too: writeBatch looks at the last byte before it appends.
    return ::open(options.path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  }

  Health health() const {
    return {failing, error, queue.size(), failed_writes, dropped, written_late, {}};
  }

  // --- the writer thread ---

  // One write() of the batch and one fsync(). On failure the file is as it was: a partial
  // write (or one whose fsync failed) is cut off again, so the batch is written once, later.
  // The flock keeps another hftguard process (the CLI) from appending in between.
  bool writeBatch(const std::string& batch, std::string& why) {
    ::flock(fd, LOCK_EX);
    struct stat st {};
    const off_t before = ::fstat(fd, &st) == 0 ? st.st_size : -1;
    // A writer killed mid-write (SIGKILL can stop a write() between two pages; a power cut
    // too) leaves a fragment without its newline. Under the lock no live writer is midway:
    // the fragment is ended here, so this batch's first event is a line of its own instead
    // of being glued to it (readers skip the fragment as one malformed line).
    std::string ended;
    char last = '\n';
    if (before > 0 && ::pread(fd, &last, 1, before - 1) == 1 && last != '\n') {
      spdlog::warn("event log {}: its last line was cut off (a writer stopped mid-write); "
                   "ended it",
                   options.path);
      ended = "\n" + batch;
    }
    const std::string& buf = ended.empty() ? batch : ended;
    // A short write (the disk filled midway) is followed by one for the rest: that one
    // fails with the reason, or the disk had room after all.
    ssize_t n = 0;
    int err = 0;
    for (int tries = 0; n < static_cast<ssize_t>(buf.size()) && tries < 8; ++tries) {
      errno = 0;
      const ssize_t got =
          options.write(fd, buf.data() + n, buf.size() - static_cast<std::size_t>(n));
      err = errno;
      if (got <= 0) break;
      n += got;
    }
    bool ok = n == static_cast<ssize_t>(buf.size());
    if (ok && options.sync(fd) != 0) {
      err = errno;
      ok = false;
    }
    if (!ok && n > 0 && before >= 0 && ::ftruncate(fd, before) != 0) {
      spdlog::critical("event log {}: cannot remove a partial write: {}", options.path,
                       std::strerror(errno));
    }
    ::flock(fd, LOCK_UN);
    if (!ok) {
      why = err != 0 ? std::strerror(err)
                     : fmt::format("short write ({} of {} bytes)", n, buf.size());
    }
    return ok;
  }

  void reopenFile() {
    const int nfd = openFile();
    if (nfd < 0) {
      spdlog::error("event log {}: reopen failed ({}); still writing to the old file", options.path,
                    std::strerror(errno));
      return;
    }
    ::close(fd);
    fd = nfd;
    spdlog::info("event log {}: reopened", options.path);
  }

  void post(std::function<void(Core&)> fn) {
    if (options.io == nullptr) return;
    boost::asio::post(*options.io, [weak = weak_from_this(), fn = std::move(fn)] {
      if (auto c = weak.lock(); c && !c->closed) fn(*c);
    });
  }

  void batchWritten(std::uint64_t last) {
    durable_seq = last;
    while (!queue.empty() && queue.front().seq <= last) queue.pop_front();
    if (failing) {
      failing = false;
      Health h = health();
      h.failing_for = Clock::now() - failing_since;
      spdlog::info(
          "event log {}: writing again after {:.1f}s ({} failed writes, {} waits given up)",
          options.path, seconds(h.failing_for), failed_writes, written_late);
      post([h](Core& c) { c.healthChanged(h); });
    }
    post([](Core& c) { c.service(); });
  }

  void batchFailed(const std::string& why) {
    ++failed_writes;
    if (failing) return;
    failing = true;
    failing_since = Clock::now();
    error = why;
    spdlog::error(
        "event log {}: write failed ({}); {} events kept in memory (up to {}), retried until "
        "the disk takes them",
        options.path, why, queue.size(), options.queue_limit);
    post([h = health()](Core& c) { c.healthChanged(h); });
  }

  void run() {
    std::unique_lock lk(mu);
    Duration backoff = options.retry;
    for (;;) {
      wake.wait(lk, [&] { return stopping || kick || reopen_requested || !queue.empty(); });
      kick = false;
      if (reopen_requested) {
        reopen_requested = false;
        lk.unlock();
        reopenFile();
        lk.lock();
      }
      if (queue.empty()) {
        if (stopping) break;
        continue;
      }
      std::string buf;
      std::uint64_t last = 0;
      std::size_t lines = 0;
      for (const auto& e : queue) {
        if (lines == kBatchLines || (lines > 0 && buf.size() + e.line.size() > kBatchBytes)) break;
        appendLine(buf, e.line, e.seq <= late_upto);
        last = e.seq;
        ++lines;
      }
      lk.unlock();
      std::string why;
      const auto began = Clock::now();
      const bool ok = writeBatch(buf, why);
      if (options.timed) options.timed(Clock::now() - began, ok);
      lk.lock();
      if (ok) {
        batchWritten(last);
        backoff = options.retry;
      } else {
        batchFailed(why);
      }
      written.notify_all();
      if (ok) continue;
      if (stopping && Clock::now() >= stop_deadline) break;
      wake.wait_for(lk, backoff, [&] { return kick || reopen_requested || stopping; });
      backoff = std::min<Duration>(backoff * 2, kMaxRetry);
    }
    exited = true;
    written.notify_all();
    lk.unlock();
    ::close(fd);
  }

  // --- the loop ---

  // Releases, in order, the waiters whose event is on disk or who waited long enough (at
  // once while the disk is failing). Stops at the first that must wait on: order is kept.
  void service() {
    std::uint64_t durable = 0;
    {
      std::lock_guard lk(mu);
      durable = durable_seq;
    }
    const SteadyTime now = Clock::now();
    std::vector<std::pair<std::function<void(bool)>, bool>> ready;
    std::uint64_t gave_up_to = 0;
    std::uint64_t gave_up = 0;
    for (auto it = waiters.begin(); it != waiters.end();) {
      const bool on_disk = it->first <= durable;
      if (!on_disk && !loop_failing && it->second.deadline > now) break;
      if (!on_disk) {
        gave_up_to = it->first;
        ++gave_up;
      }
      ready.emplace_back(std::move(it->second.done), on_disk);
      it = waiters.erase(it);
    }
    if (gave_up > 0) {
      std::lock_guard lk(mu);
      late_upto = std::max(late_upto, gave_up_to);
      written_late += gave_up;
    }
    if (std::any_of(ready.begin(), ready.end(), [](const auto& r) { return r.second; }))
      stall_warned = false;  // the disk answers again
    if (gave_up > 0 && !loop_failing && !stall_warned) {
      stall_warned = true;
      spdlog::warn(
          "event log {}: the disk took no event for {:.1f}s; going on without it (the "
          "line will say written_late)",
          options.path, seconds(options.durable_wait));
    }
    armTimer();
    for (auto& [done, on_disk] : ready) done(on_disk);
  }

  void armTimer() {
    if (waiters.empty()) {
      if (timer_armed) timer->cancel();
      timer_armed = false;
      return;
    }
    const SteadyTime at = waiters.begin()->second.deadline;
    if (timer_armed && timer_at == at) return;
    timer_armed = true;
    timer_at = at;
    timer->expires_at(at);
    timer->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (ec) return;
      auto c = weak.lock();
      if (!c || c->closed) return;
      c->timer_armed = false;
      c->service();
    });
  }

  void healthChanged(const Health& h) {
    loop_failing = h.failing;
    if (h.failing) service();
    if (listener) listener(h);
  }
};

EventLog::EventLog(Options options) : core_(std::make_shared<Core>(std::move(options))) {
  Core& c = *core_;
  if (!c.options.write)
    c.options.write = [](int fd, const void* d, std::size_t n) { return ::write(fd, d, n); };
  if (!c.options.sync) c.options.sync = [](int fd) { return ::fsync(fd); };
  c.fd = c.openFile();
  if (c.fd < 0) {
    throw std::runtime_error("cannot open event log " + c.options.path + ": " +
                             std::strerror(errno));
  }
  if (c.options.io != nullptr) c.timer = std::make_unique<boost::asio::steady_timer>(*c.options.io);
  c.writer = std::thread([core = core_] { core->run(); });
}

EventLog::~EventLog() {
  Core& c = *core_;
  c.closed = true;
  c.waiters.clear();
  c.listener = nullptr;
  c.timer.reset();  // here, on the loop, while the io_context still exists
  std::unique_lock lk(c.mu);
  c.stopping = true;
  c.stop_deadline = Clock::now() + kExitWait;
  c.wake.notify_one();
  const bool exited =
      c.written.wait_for(lk, kExitWait + std::chrono::seconds(1), [&] { return c.exited; });
  const std::size_t left = c.queue.size();
  lk.unlock();
  // A writer stuck in a hung write() is left behind; it owns what it uses.
  exited ? c.writer.join() : c.writer.detach();
  if (left > 0) {
    spdlog::error("event log {}: {} events could not be written before exit", c.options.path, left);
  }
}

std::uint64_t EventLog::append(const Event& e) {
  std::string line = toJsonLine(e);
  Core& c = *core_;
  std::uint64_t seq = 0;
  std::uint64_t dropped = 0;
  {
    std::lock_guard lk(c.mu);
    seq = ++c.last_seq;
    c.queue.push_back({seq, std::move(line)});
    if (c.queue.size() > c.options.queue_limit) {
      c.queue.pop_front();
      dropped = ++c.dropped;
    }
  }
  c.wake.notify_one();
  if (dropped == 1 || (dropped > 0 && dropped % 1000 == 0)) {
    spdlog::error("event log {}: queue full ({} events), {} oldest events dropped", c.options.path,
                  c.options.queue_limit, dropped);
  }
  return seq;
}

void EventLog::whenDurable(std::uint64_t seq, std::function<void(bool durable)> done) {
  Core& c = *core_;
  if (c.options.io == nullptr) throw std::logic_error("EventLog::whenDurable needs options.io");
  c.waiters.emplace(seq, Core::Waiter{std::move(done), Clock::now() + c.options.durable_wait});
  c.post([](Core& core) { core.service(); });
}

std::uint64_t EventLog::lastSequence() const {
  std::lock_guard lk(core_->mu);
  return core_->last_seq;
}

void EventLog::onHealth(std::function<void(const Health&)> listener) {
  core_->listener = std::move(listener);
}

bool EventLog::flush(Duration timeout) {
  Core& c = *core_;
  std::unique_lock lk(c.mu);
  const std::uint64_t target = c.last_seq;
  const std::uint64_t failures = c.failed_writes;
  c.kick = true;
  c.wake.notify_one();
  c.written.wait_for(lk, timeout, [&] {
    return c.durable_seq >= target || c.failed_writes != failures || c.exited;
  });
  return c.durable_seq >= target;
}

void EventLog::reopen() {
  {
    std::lock_guard lk(core_->mu);
    core_->reopen_requested = true;
  }
  core_->wake.notify_one();
}

std::size_t EventLog::queued() const {
  std::lock_guard lk(core_->mu);
  return core_->queue.size();
}

std::uint64_t EventLog::dropped() const {
  std::lock_guard lk(core_->mu);
  return core_->dropped;
}

std::uint64_t EventLog::failedWrites() const {
  std::lock_guard lk(core_->mu);
  return core_->failed_writes;
}

bool EventLog::failing() const {
  std::lock_guard lk(core_->mu);
  return core_->failing;
}

const std::string& EventLog::path() const { return core_->options.path; }

}  // namespace hftguard::events

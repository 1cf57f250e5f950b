#pragma once
// The append-only event log. The loop only queues a line; a writer thread appends each batch
// of whole lines with one write() to an O_APPEND file and one fsync() (group commit), so no
// line is ever torn or interleaved, and tells the loop which events are on disk. When the
// disk fails (ENOSPC, EIO) events wait in a bounded queue, in order, and the writer retries
// until it recovers; a partial write is truncated away. The loop never waits on the disk.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <sys/types.h>

#include "hftguard/events/event.hpp"

namespace boost::asio {
class io_context;
}

namespace hftguard::events {

class EventLog {
 public:
  // Hooks for tests and benchmarks to simulate a full, failing or stalled disk; default
  // ::write and ::fsync. Called on the writer thread.
  using WriteFn = std::function<ssize_t(int fd, const void* data, std::size_t size)>;
  using SyncFn = std::function<int(int fd)>;

  struct Options {
    std::string path;
    std::size_t queue_limit = 10000;
    WriteFn write;
    SyncFn sync;
    // The loop: where whenDurable() and onHealth() callbacks run. Without one, only append()
    // and flush() may be used.
    boost::asio::io_context* io = nullptr;
    // The longest whenDurable() waits before giving up on a stalled disk; on a disk known to
    // be failing it gives up at once.
    Duration durable_wait = std::chrono::seconds(1);
    Duration retry = std::chrono::milliseconds(50);  // first retry; doubles up to 1 s
    // Told how long each batch's write() and fsync() took and whether they worked (metrics);
    // called on the writer thread.
    std::function<void(Duration took, bool ok)> timed = nullptr;
  };

  // What the loop hears when writing starts failing, and when it works again.
  struct Health {
    bool failing = false;
    std::string error;       // strerror of the first failure
    std::size_t queued = 0;  // events not yet on disk
    std::uint64_t failed_writes = 0;
    std::uint64_t dropped = 0;       // since start
    std::uint64_t written_late = 0;  // waits given up, since start
    Duration failing_for{};          // on recovery: how long it failed
  };

  // Opens (creating the file and its directory); throws std::runtime_error when it cannot.
  explicit EventLog(Options options);
  // Gives the writer a few seconds to write what is queued; logs what it could not.
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Queues the event and returns at once: its sequence number, for whenDurable().
  std::uint64_t append(const Event& e);
  // Runs `done(true)` on the loop once event `seq` and every one before it are on disk, or
  // `done(false)` when the log gave up waiting (durable_wait passed, or the disk is failing);
  // the line is then written later with "written_late": true. Callbacks run in `seq` order.
  void whenDurable(std::uint64_t seq, std::function<void(bool durable)> done);
  // The number of the last event queued.
  std::uint64_t lastSequence() const;
  // Called on the loop when writing starts failing and when it works again.
  void onHealth(std::function<void(const Health&)> listener);

  // Blocks until every event queued before the call is on disk (true), a write fails or
  // `timeout` passes (false). For exit, short-lived commands and tests, never the loop.
  bool flush(Duration timeout = std::chrono::seconds(5));
  // After logrotate moved the file: the writer opens the path again before its next write.
  // Keeps the old file when the new one cannot be opened.
  void reopen();

  std::size_t queued() const;  // not yet on disk
  std::uint64_t dropped() const;
  std::uint64_t failedWrites() const;
  bool failing() const;
  const std::string& path() const;

  struct Core;

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace hftguard::events

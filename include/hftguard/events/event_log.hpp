#pragma once
// The append-only event log. Each event is one write() of one whole line to an O_APPEND
// file, then fsync(), so no line is ever torn or interleaved and an event is on disk before
// append() says so. When the disk fails (ENOSPC, EIO) events wait in a bounded queue, in
// order, and are written when it recovers; a partial write is truncated away.

#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include <sys/types.h>

#include "hftguard/events/event.hpp"

namespace hftguard::events {

class EventLog {
 public:
  // Hooks for tests to simulate a full or failing disk; default ::write and ::fsync.
  using WriteFn = std::function<ssize_t(int fd, const void* data, std::size_t size)>;
  using SyncFn = std::function<int(int fd)>;

  struct Options {
    std::string path;
    std::size_t queue_limit = 10000;
    WriteFn write;
    SyncFn sync;
  };

  // Opens (creating the file and its directory); throws std::runtime_error when it cannot.
  explicit EventLog(Options options);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // True when this event, and every one queued before it, is on disk.
  bool append(const Event& e);
  // Writes queued events; true when none is left.
  bool flush();
  // After logrotate moved the file: open the path again. Keeps the old file on failure.
  bool reopen();

  std::size_t queued() const { return queue_.size(); }
  std::uint64_t dropped() const { return dropped_; }
  const std::string& path() const { return options_.path; }

 private:
  bool writeLine(const std::string& line);
  int open();

  Options options_;
  int fd_ = -1;
  std::deque<std::string> queue_;
  std::uint64_t dropped_ = 0;
  bool failing_ = false;
};

}  // namespace hftguard::events

#include "hftguard/events/event_log.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hftguard::events {

EventLog::EventLog(Options options) : options_(std::move(options)) {
  if (!options_.write)
    options_.write = [](int fd, const void* d, std::size_t n) { return ::write(fd, d, n); };
  if (!options_.sync) options_.sync = [](int fd) { return ::fsync(fd); };
  fd_ = open();
  if (fd_ < 0) {
    throw std::runtime_error("cannot open event log " + options_.path + ": " +
                             std::strerror(errno));
  }
}

EventLog::~EventLog() {
  flush();
  if (!queue_.empty()) {
    spdlog::error("event log {}: {} events could not be written before exit", options_.path,
                  queue_.size());
  }
  if (fd_ >= 0) ::close(fd_);
}

int EventLog::open() {
  std::error_code ec;
  const auto dir = std::filesystem::path(options_.path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  return ::open(options_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

bool EventLog::writeLine(const std::string& line) {
  struct stat st {};
  const off_t before = ::fstat(fd_, &st) == 0 ? st.st_size : -1;
  const ssize_t n = options_.write(fd_, line.data(), line.size());
  int err = errno;
  bool ok = n == static_cast<ssize_t>(line.size());
  if (ok && options_.sync(fd_) != 0) {
    err = errno;
    ok = false;
  }
  if (ok) return true;
  // Take a partial line (or one whose fsync failed) back out, so the file only ever holds
  // whole lines and the event is written exactly once, later.
  if (n > 0 && before >= 0 && ::ftruncate(fd_, before) != 0) {
    spdlog::critical("event log {}: cannot remove a partial line: {}", options_.path,
                     std::strerror(errno));
  }
  if (!failing_) {
    spdlog::error(
        "event log {}: write failed ({}); keeping events in memory (up to {}) until it works",
        options_.path, std::strerror(err), options_.queue_limit);
  }
  failing_ = true;
  return false;
}

bool EventLog::flush() {
  while (!queue_.empty()) {
    if (!writeLine(queue_.front())) return false;
    queue_.pop_front();
  }
  if (failing_) {
    spdlog::info("event log {}: writing again", options_.path);
    failing_ = false;
  }
  return true;
}

bool EventLog::append(const Event& e) {
  queue_.push_back(toJsonLine(e));
  if (queue_.size() > options_.queue_limit) {
    queue_.pop_front();
    if (dropped_++ == 0 || dropped_ % 1000 == 0) {
      spdlog::error("event log {}: queue full, {} oldest events dropped", options_.path, dropped_);
    }
  }
  return flush();
}

bool EventLog::reopen() {
  const int fd = open();
  if (fd < 0) {
    spdlog::error("event log {}: reopen failed ({}); still writing to the old file", options_.path,
                  std::strerror(errno));
    return false;
  }
  ::close(fd_);
  fd_ = fd;
  spdlog::info("event log {}: reopened", options_.path);
  return flush();
}

}  // namespace hftguard::events

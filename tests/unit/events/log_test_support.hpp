#pragma once
// Helpers for the event-log tests: a gate that stalls the writer thread, a bounded loop
// driver, and the log's lines.

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "hftguard/events/event.hpp"

namespace hftguard::events::testing {

// A disk that stalls while the gate is closed: the writer thread blocks in pass().
class Gate {
 public:
  void close() {
    std::lock_guard lk(m_);
    open_ = false;
  }
  void release() {
    {
      std::lock_guard lk(m_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void pass() {
    std::unique_lock lk(m_);
    ++blocked_;
    cv_.wait(lk, [&] { return open_; });
  }
  int blocked() {
    std::lock_guard lk(m_);
    return blocked_;
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool open_ = true;
  int blocked_ = 0;
};

// Runs the loop until `done` (true) or `most` passes (false).
inline bool runUntil(boost::asio::io_context& io, const std::function<bool()>& done,
                     std::chrono::milliseconds most = std::chrono::seconds(10)) {
  const auto until = std::chrono::steady_clock::now() + most;
  while (!done() && std::chrono::steady_clock::now() < until) {
    if (io.stopped()) io.restart();
    if (io.run_one_for(std::chrono::milliseconds(10)) == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

// The log's lines, parsed; a malformed line fails the test.
inline std::vector<Event> readLog(const std::string& path) {
  std::ifstream in(path);
  std::vector<Event> out;
  for (std::string line; std::getline(in, line);) {
    std::string why;
    auto e = parseEventLine(line, &why);
    if (!e) throw std::runtime_error("malformed line (" + why + "): " + line);
    out.push_back(*e);
  }
  return out;
}

}  // namespace hftguard::events::testing

#pragma once
// Private to the CLI: the objects a running hftguard is made of, wired once. The loop runs
// on the thread that calls io.run().

#include <chrono>
#include <functional>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "hftguard/config/config.hpp"
#include "hftguard/net/http_client.hpp"
#include "hftguard/net/worker_pool.hpp"
#include "hftguard/probes/probe.hpp"

namespace hftguard::cli {

// Enough workers that each PostgreSQL check can hold one while it waits on a hung server.
inline std::size_t workerCount(const config::Config& cfg) {
  std::size_t n = 1;
  for (const auto& c : cfg.components) {
    for (const auto& k : c.checks) n += k.type == "postgres" ? 1 : 0;
  }
  return std::min<std::size_t>(n, 64);
}

// One turn of a loop a command drives itself: at most `most` of work, or a short sleep when
// there is none (run_one_for returns at once then, and the loop stops until restarted).
inline void turn(boost::asio::io_context& io, std::chrono::milliseconds most) {
  if (io.stopped()) io.restart();
  if (io.run_one_for(most) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

// A command waits for its calls: turns the loop until `done()` or `limit` passed; false on
// the deadline.
inline bool turnUntil(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::seconds limit = std::chrono::seconds(10)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < until) {
    turn(io, std::chrono::milliseconds(100));
  }
  return done();
}

struct Runtime {
  explicit Runtime(const config::Config& cfg)
      : http(io), workers(io, workerCount(cfg)), env{io, http, workers, clock, cfg.node.name} {}

  boost::asio::io_context io{1};
  SystemClock clock;
  net::HttpClient http;
  net::WorkerPool workers;
  probes::ProbeEnv env;
};

}  // namespace hftguard::cli

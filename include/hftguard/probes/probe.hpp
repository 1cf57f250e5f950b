#pragma once
// One interface for every probe kind. A kind only knows how to ask its target once; the
// scheduler owns timing, deadlines, identity and latency (Envoy's health-checker shape).

#include <functional>
#include <memory>
#include <string>

#include "hftguard/config/config.hpp"
#include "hftguard/core/clock.hpp"
#include "hftguard/probes/result.hpp"

namespace boost::asio {
class io_context;
}

namespace hftguard::net {
class HttpClient;
class WorkerPool;
}  // namespace hftguard::net

namespace hftguard::probes {

// What probe kinds may use. Owned by the daemon; outlives every probe.
struct ProbeEnv {
  boost::asio::io_context& io;
  net::HttpClient& http;
  net::WorkerPool& workers;
  const Clock& clock;
  std::string node;                 // this daemon's node name (write checks record it)
  std::string proc_root = "/proc";  // tests may point process/host probes elsewhere
};

class Probe {
 public:
  using Done = std::function<void(ProbeOutcome)>;

  virtual ~Probe() = default;
  // Asks the target once and calls `done` once, on the loop thread. The scheduler enforces
  // the deadline and ignores a `done` that comes after it, so a kind need not track it.
  // The scheduler never starts a run while the previous one is still open.
  virtual void start(Done done) = 0;
  // The deadline passed: drop what the run holds (sockets, requests). Optional.
  virtual void cancel() {}
};

// Builds the probe of a check, or returns null for a type with no probe kind.
std::unique_ptr<Probe> makeProbe(const config::CheckConfig& check, ProbeEnv& env);

}  // namespace hftguard::probes

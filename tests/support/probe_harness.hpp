#pragma once
// Test support: runs the daemon's own probe objects once against real targets.

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "hftguard/config/loader.hpp"
#include "hftguard/net/http_client.hpp"
#include "hftguard/net/worker_pool.hpp"
#include "hftguard/probes/scheduler.hpp"

namespace hftguard::testing {

// Wraps `checks_yaml` (the body of a component's `checks:` map, indented by 6) into a
// complete config with one component named "c".
std::string configWithChecks(const std::string& checks_yaml);

class ProbeHarness {
 public:
  explicit ProbeHarness(const std::string& checks_yaml);

  // Runs check `name` of component "c" once; waits (bounded) for its result.
  probes::ProbeResult run(const std::string& name);

  std::shared_ptr<const config::Config> cfg;
  boost::asio::io_context io{1};
  SystemClock clock;
  net::HttpClient http{io};
  net::WorkerPool workers{io, 4};
  probes::ProbeEnv env{io, http, workers, clock, "test-node"};

 private:
  std::map<std::string, std::unique_ptr<probes::CheckRunner>> runners_;
};

}  // namespace hftguard::testing

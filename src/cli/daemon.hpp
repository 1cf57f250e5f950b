#pragma once
// Private to the CLI: `hftguard run` wired together - probes -> decider -> event log, on one
// event loop, with a one-second tick for time-driven decisions and signal handling.

#include <memory>

#include "hftguard/config/config.hpp"
#include "hftguard/core/duration.hpp"

namespace hftguard::cli {

class Daemon {
 public:
  // Opens the event log; throws std::runtime_error when it cannot. `stop_timeout` (when not
  // zero) caps how long SIGTERM waits for a running plan: systemd's TimeoutStopSec minus a
  // margin, so the plan is recorded as interrupted before systemd's SIGKILL.
  // `log_level`: run's --log-level, which a reload keeps (else the config's logging.level).
  explicit Daemon(std::shared_ptr<const config::Config> cfg,
                  Duration stop_timeout = Duration::zero(), std::string log_level = {});
  ~Daemon();
  // Runs until SIGINT/SIGTERM; returns the exit code.
  int run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hftguard::cli

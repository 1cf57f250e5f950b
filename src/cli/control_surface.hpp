#pragma once
// Private to the CLI: the daemon's control API - its listeners (control_api.listen and
// .socket), its routes, and reading the event log for /events (off the loop). What each
// endpoint reports or changes is the daemon's: it hands its answers in as hooks, so this
// file holds no state of the daemon's.

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "hftguard/config/config.hpp"

namespace boost::asio {
class io_context;
}
namespace hftguard::net {
class WorkerPool;
}
namespace hftguard::control {
class Telemetry;
}

namespace hftguard::cli {

class ControlSurface {
 public:
  // An answer: an HTTP status and its JSON body.
  using Done = std::function<void(int status, nlohmann::json body)>;
  using Change = std::function<void(const nlohmann::json& request, Done done)>;
  struct Hooks {
    std::function<nlohmann::json()> status;
    std::function<nlohmann::json()> plans;
    std::function<std::string()> metrics;
    Change pause, resume, maintenance, reload, switchover, failover;
  };

  ControlSurface(boost::asio::io_context& io, net::WorkerPool& workers, const config::Config& cfg,
                 control::Telemetry& telemetry, Hooks hooks);
  ~ControlSurface();
  // Binds every listener of control_api; "" or why (the daemon does not start then).
  std::string start();
  void stop();
  // What `start` bound, for the log: "127.0.0.1:9477, unix:/run/hftguard/control.sock".
  std::string where() const;
  // A reload applied: components are looked up in `cfg` (its control_api is the same).
  void rebind(const config::Config& cfg);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hftguard::cli

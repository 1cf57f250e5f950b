#pragma once
// Private to the CLI: what `hftguard status` and the control API's /status show about each
// component beyond the decider's health - each check's last result, the standby's readiness
// (its own checks), the last failover with its phases - kept from the probe results and the
// events as they pass (values flow one way: nothing here is asked back by the daemon).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hftguard/config/config.hpp"
#include "hftguard/coord/cluster_state.hpp"

namespace hftguard::probes {
struct ProbeResult;
}
namespace hftguard::events {
struct Event;
}

namespace hftguard::cli {

class StatusBook {
 public:
  void onProbe(const probes::ProbeResult& r);
  void onEvent(const events::Event& e);

  // Each check's last result: {name, status, reason, latency_ms, at, informational}.
  nlohmann::json checks(const config::ComponentConfig& c) const;
  // The member the standby checks address, and whether they pass: {member, ready, why}; null
  // for a component without members.
  nlohmann::json standby(const config::ComponentConfig& c, const coord::Roles& roles) const;
  // The roles moved: results taken against the members before are no one's now (a standby's
  // readiness, a primary's health) - forgotten until its checks answer again.
  void rolesMoved(const std::string& component) { last_.erase(component); }
  // Every check of the primary has answered ok since the roles last moved.
  bool primaryAnsweredOk(const config::ComponentConfig& c) const;
  // The last plan this daemon saw end for the component: outcome, when, RTO against target,
  // old and new primary, its steps with their durations; null when none since the start.
  nlohmann::json lastFailover(const std::string& component) const;
  // The plans running now or last seen, for /plans.
  nlohmann::json plans() const;

 private:
  struct Last {
    std::string status, reason, target;
    double latency_ms = 0;
    std::string at;
    bool informational = false;
  };
  struct Plan {
    nlohmann::json started;  // failover_started's fields + ts
    nlohmann::json steps = nlohmann::json::array();
    nlohmann::json ended;  // null while it runs
  };
  std::map<std::string, std::map<std::string, Last>> last_;  // component -> check -> result
  std::map<std::string, Plan> plans_;                        // component -> its last plan
};

}  // namespace hftguard::cli

#pragma once
// Delivers alerts beside the failover work, never in its way: one bounded queue per channel
// on the event loop, at most `max_in_flight` deliveries per channel at once, retries with
// exponential backoff until each alert's deadline, and every delivery and every give-up
// recorded as an event (alert_sent, alert_failed). A slow or dead channel delays nothing
// but its own alerts.

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "hftguard/alerts/alert.hpp"
#include "hftguard/config/config.hpp"
#include "hftguard/core/clock.hpp"

namespace boost::asio {
class io_context;
}
namespace hftguard::net {
class HttpClient;
}

namespace hftguard::alerts {

class AlertDispatcher {
 public:
  using Record = std::function<void(const std::string& type, const std::string& component,
                                    const std::string& reason, nlohmann::json fields)>;

  AlertDispatcher(boost::asio::io_context& io, net::HttpClient& http, const Clock& clock,
                  const config::Config& cfg, Record record);
  ~AlertDispatcher();
  AlertDispatcher(const AlertDispatcher&) = delete;
  AlertDispatcher& operator=(const AlertDispatcher&) = delete;

  // Queues the alert on the component's channels that take its severity; a resolve goes to
  // the channels that were sent the incident's trigger.
  void submit(const Alert& a);
  // Queues `a` on one channel (or every channel when `channel` is empty), whatever the
  // channels' minimum severity: `hftguard alert-test`. False for an unknown channel.
  bool submitTo(const std::string& channel, const Alert& a);
  // Alerts queued, in flight or waiting to be retried, on every channel.
  std::size_t pending() const;
  // Drops everything queued and in flight (shutdown).
  void stop();
  // A reload applied: components (their alert_channels) are looked up in `cfg` from now on.
  // Its alerts section is the one the lanes were made from (a reload that changes it is
  // refused), and the config before outlives the deliveries in flight.
  void rebind(const config::Config& cfg);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace hftguard::alerts

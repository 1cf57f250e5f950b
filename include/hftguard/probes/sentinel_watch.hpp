#pragma once
// Follows Redis Sentinel's own failovers as they happen: a subscription to +switch-master
// on every configured Sentinel, each switch reported once (the first Sentinel to announce
// it wins; the others repeat it). A Sentinel announces a switch only after a majority of
// Sentinels elected its leader for a new epoch, so one announcement is enough to act on.
// Lost subscriptions are retried; a dead peer is found by TCP keepalive.

#include <functional>
#include <memory>
#include <string>

#include "hftguard/config/config.hpp"
#include "hftguard/core/clock.hpp"

namespace boost::asio {
class io_context;
}

namespace hftguard::probes {

struct MasterSwitch {
  std::string component;
  std::string master_name;
  std::string old_master;  // host:port
  std::string new_master;  // host:port
  std::string sentinel;    // the Sentinel whose announcement arrived first
  WallTime at{};
};

class SentinelWatch {
 public:
  using OnSwitch = std::function<void(const MasterSwitch&)>;
  // A subscription came up or went down (with why): for the log, on changes only.
  using OnLink = std::function<void(const std::string& sentinel, bool up, const std::string& why)>;

  SentinelWatch(boost::asio::io_context& io, const Clock& clock, std::string component,
                const config::FollowConfig& cfg, OnSwitch on_switch, OnLink on_link);
  ~SentinelWatch();
  SentinelWatch(const SentinelWatch&) = delete;
  SentinelWatch& operator=(const SentinelWatch&) = delete;

  void start();
  void stop();
  // Subscriptions currently confirmed.
  std::size_t linksUp() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hftguard::probes

#pragma once
// Private to alerts/: one channel kind per file, behind one interface. A channel only knows
// how to deliver one alert once; the dispatcher owns queues, retries and deadlines. Channel
// errors never carry a webhook URL, key or password.

#include <functional>
#include <memory>
#include <string>

#include "hftguard/alerts/alert.hpp"
#include "hftguard/config/config.hpp"

namespace boost::asio {
class io_context;
}
namespace hftguard::net {
class HttpClient;
}

namespace hftguard::alerts::channels {

class Channel {
 public:
  // `error` empty: delivered. Otherwise `retry` says whether another attempt may succeed
  // (a timeout, HTTP 429/5xx) or never will (HTTP 400, a refused login).
  using Done = std::function<void(std::string error, bool retry)>;
  virtual ~Channel() = default;
  virtual void send(const Alert& a, Duration timeout, Done done) = 0;
};

struct ChannelEnv {
  boost::asio::io_context& io;
  net::HttpClient& http;
};

std::unique_ptr<Channel> makeChannel(const config::ChannelConfig& c, ChannelEnv& env);
std::unique_ptr<Channel> makeSlack(const config::ChannelConfig& c, ChannelEnv& env);
std::unique_ptr<Channel> makePagerDuty(const config::ChannelConfig& c, ChannelEnv& env);
std::unique_ptr<Channel> makeEmail(const config::ChannelConfig& c, ChannelEnv& env);

// The alert as readable lines: title, summary, the facts, the evidence.
std::string plainText(const Alert& a);

// POSTs a JSON body to `url` (the channel's tls_verify applies) and reports the outcome:
// delivered when `ok_status` comes back; 429 and 5xx may be retried, other answers not.
// `who` names the channel in errors - never the URL, which may be a secret.
void postJson(ChannelEnv& env, const config::ChannelConfig& c, std::string url, std::string body,
              Duration timeout, long ok_status, std::string who, Channel::Done done);

}  // namespace hftguard::alerts::channels

#pragma once
// One short conversation with Redis: connect, AUTH and SELECT when configured, then the
// caller's commands pipelined; `done` gets every reply, timed, or the first error. What the
// redis probes and the redis_set action share.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hftguard/core/duration.hpp"
#include "hftguard/net/redis_client.hpp"

namespace hftguard::net {

struct RedisTarget {
  std::string host;
  int port = 6379;
  std::string username;
  std::optional<std::string> password;
  int db = 0;
};

struct TimedReply {
  RedisReply reply;
  Duration after_send{};  // from sending the commands to this reply
};

class RedisSession {
 public:
  // `error` is empty on success; an AUTH failure never echoes the password.
  using Done = std::function<void(std::vector<TimedReply> replies, std::string error)>;

  static std::shared_ptr<RedisSession> start(boost::asio::io_context& io, const RedisTarget& target,
                                             std::vector<std::vector<std::string>> commands,
                                             Done done);
  // Ends the conversation; `done` is not called afterwards.
  void cancel();

 private:
  struct State;
  explicit RedisSession(std::shared_ptr<State> s) : state_(std::move(s)) {}
  std::shared_ptr<State> state_;
};

}  // namespace hftguard::net

#pragma once
// One short conversation with Redis: connect, AUTH and SELECT when configured, then the
// caller's commands pipelined; `done` gets every reply, timed, or the first error. What the
// redis probes and the redis_set action share. A conversation may run on a connection an
// earlier one kept open (the probes keep one between runs).

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

// A conversation's connection: reused from an earlier one, and/or kept for a later one.
struct RedisReuse {
  // An open connection an earlier session kept: no connect, no AUTH or SELECT again.
  std::shared_ptr<RedisConnection> connection;
  // Leave the connection open after a conversation that succeeded, for release().
  bool keep = false;
};

class RedisSession {
 public:
  // `error` is empty on success; an AUTH failure never echoes the password.
  using Done = std::function<void(std::vector<TimedReply> replies, std::string error)>;

  static std::shared_ptr<RedisSession> start(boost::asio::io_context& io, const RedisTarget& target,
                                             std::vector<std::vector<std::string>> commands,
                                             Done done, RedisReuse reuse = {});
  // Ends the conversation; `done` is not called afterwards. The connection is closed.
  void cancel();
  // After `done` without an error, with `keep`: the open connection (null otherwise).
  std::shared_ptr<RedisConnection> release();
  // After `done` with an error: the connection failed (refused, lost, closed), as opposed
  // to Redis answering a command with an error.
  bool connectionFailed() const;

 private:
  struct State;
  explicit RedisSession(std::shared_ptr<State> s) : state_(std::move(s)) {}
  std::shared_ptr<State> state_;
};

}  // namespace hftguard::net

#pragma once
// An asynchronous Redis connection: hiredis' async API driven by the Asio loop through a
// small adapter. The host is resolved without blocking first (hiredis would block in
// getaddrinfo). Loop thread only.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct redisAsyncContext;

namespace boost::asio {
class io_context;
}

namespace hftguard::net {

struct RedisReply {
  enum class Type { String, Status, Integer, Nil, Array, Error };
  Type type = Type::Nil;
  std::string text;  // String, Status and Error
  long long integer = 0;
  std::vector<RedisReply> elements;

  bool isError() const { return type == Type::Error; }
};

class RedisConnection : public std::enable_shared_from_this<RedisConnection> {
 public:
  // Either a connection or an error, never both.
  using ConnectDone = std::function<void(std::shared_ptr<RedisConnection>, std::string error)>;
  // A reply, or nullopt and why (connection lost or closed).
  using ReplyDone = std::function<void(std::optional<RedisReply>, std::string error)>;

  // Starts connecting; the returned handle can close() the attempt before `done` runs.
  static std::shared_ptr<RedisConnection> connect(boost::asio::io_context& io, std::string host,
                                                  int port, ConnectDone done);

  void command(std::vector<std::string> argv, ReplyDone done);
  // SUBSCRIBE `channel`: `each` gets the confirmation, then every message (an array
  // "message", channel, payload), and finally nullopt when the connection ends. No other
  // command may follow on this connection.
  void subscribe(const std::string& channel, ReplyDone each);
  // TCP keepalive on the connected socket, so a silently dead peer ends the connection:
  // probes after `idle` s, every `interval` s, gives up after `count` unanswered.
  void keepAlive(int idle, int interval, int count);
  // Closes the connection; pending commands get an error. Safe inside callbacks.
  void close();
  ~RedisConnection();

  struct Impl;

 private:
  explicit RedisConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hftguard::net

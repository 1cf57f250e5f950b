#pragma once
// A small HTTP/1.1 server (Boost.Beast) on the event loop, over TCP and over a unix stream
// socket: what the control API and /metrics are served by. Bounded: a request's head and
// body have size limits, a connection that sends nothing for `idle` is closed, at most
// `max_connections` are open per listener (the next is refused at once), and a handler that
// does not answer within `reply_within` gets the client a 504. A handler answers when it is
// ready (its reply may come later, from the loop); nothing here blocks the loop.

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hftguard/core/clock.hpp"

namespace boost::asio {
class io_context;
}

namespace hftguard::net {

struct ServerRequest {
  std::string method;  // GET, POST, ...
  std::string target;  // as sent: /events?since=...
  std::string path;    // /events
  std::string query;   // since=... (still escaped)
  std::string body;
  std::string authorization;  // the Authorization header, "" when absent
  std::string host;           // the Host header
  std::string content_type;
  bool unix_socket = false;  // came over the unix socket (its file mode is the access control)
  std::string peer;          // "unix" or the TCP peer's address:port
};

struct ServerResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

using ServerReply = std::function<void(ServerResponse)>;
using ServerHandler = std::function<void(const ServerRequest&, ServerReply)>;

class HttpServer {
 public:
  struct Limits {
    std::size_t max_body = 64 * 1024;
    std::size_t max_connections = 32;  // per listener (TCP, the unix socket)
    Duration idle = std::chrono::seconds(10);
    Duration reply_within = std::chrono::seconds(30);  // a handler's answer, else 504
  };

  HttpServer(boost::asio::io_context& io, ServerHandler handler, Limits limits);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // "" once listening, else why. `host:port` (port 0: any free one, see tcpPort()).
  std::string listenTcp(const std::string& host_port);
  // A unix socket at `path`, its file given `mode`; its directory is created (0750) when
  // missing. A socket file left by a dead process is replaced; one a live process answers
  // on is not (another daemon runs).
  std::string listenUnix(const std::string& path, unsigned mode);
  unsigned short tcpPort() const;
  // Stops accepting and closes every connection; replies still to come are dropped.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// "a=1&b=x%20y" -> the value of `key`, unescaped ("+" is a space); nullopt when absent.
std::optional<std::string> queryParam(const std::string& query, const std::string& key);

}  // namespace hftguard::net

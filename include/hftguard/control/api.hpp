#pragma once
// The control API's routing and access rules, apart from the sockets (net/http_server) and
// from what each endpoint does (the daemon registers its handlers): testable without a
// network. Reads need no token over the unix socket (its file mode is the access control)
// or a loopback listener; every mutation needs `Authorization: Bearer <token>` matching
// control_api.token, compared in constant time; with no token configured, mutations are
// refused. A listener reachable from other hosts (allow_remote) wants the token for reads
// too. Answers are JSON; an error is {"error": "..."} with its HTTP status.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hftguard/net/http_server.hpp"

namespace hftguard::control {

enum class Access { Read, Mutate };

class ControlApi {
 public:
  struct Options {
    std::optional<std::string> token;  // control_api.token; nullopt: mutations refused
    bool reads_need_token = false;     // the TCP listener is not loopback
    // Host headers a TCP request may carry (empty: any). A loopback listener takes only its
    // own names, so a web page in an operator's browser cannot read it by DNS rebinding.
    std::vector<std::string> hosts = {};
  };
  using Handler = std::function<void(const net::ServerRequest&, net::ServerReply)>;
  // Called once per answered request (metrics): method, route ("" when none matched), status.
  using Observer = std::function<void(const std::string& path, int status)>;

  explicit ControlApi(Options options);
  void route(const std::string& method, const std::string& path, Access access, Handler handler);
  void observe(Observer observer) { observer_ = std::move(observer); }
  // Checks access, then runs the route's handler (404 / 405 / 401 / 403 otherwise).
  void handle(const net::ServerRequest& request, net::ServerReply reply) const;

 private:
  struct Route {
    Access access;
    Handler handler;
  };
  Options options_;
  std::map<std::string, std::map<std::string, Route>> routes_;  // path -> method -> route
  Observer observer_;
};

// Equal strings, in time that depends only on their lengths.
bool sameSecret(std::string_view a, std::string_view b);

net::ServerResponse jsonResponse(int status, const nlohmann::json& body);
net::ServerResponse errorResponse(int status, const std::string& message);
// A request body as a JSON object: {} when empty, nullopt (why) when it is not an object.
std::optional<nlohmann::json> jsonBody(const net::ServerRequest& request, std::string* why);

}  // namespace hftguard::control

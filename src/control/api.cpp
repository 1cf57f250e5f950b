#include "hftguard/control/api.hpp"

#include <algorithm>

namespace hftguard::control {

ControlApi::ControlApi(Options options) : options_(std::move(options)) {}

void ControlApi::route(const std::string& method, const std::string& path, Access access,
                       Handler handler) {
  routes_[path][method] = Route{access, std::move(handler)};
}

void ControlApi::handle(const net::ServerRequest& request, net::ServerReply reply) const {
  // The reply may come after this call returns: it holds copies only.
  auto answer = [observer = observer_,
                 route = routes_.count(request.path) ? request.path : std::string(),
                 reply](net::ServerResponse res) {
    if (observer) observer(route, res.status);
    reply(std::move(res));
  };
  auto path = routes_.find(request.path);
  if (path == routes_.end()) return answer(errorResponse(404, "no endpoint " + request.path));
  auto route = path->second.find(request.method);
  if (route == path->second.end()) {
    std::string allowed;
    for (const auto& [m, r] : path->second) allowed += (allowed.empty() ? "" : ", ") + m;
    auto res = errorResponse(405, request.path + " takes " + allowed);
    res.headers.emplace_back("Allow", allowed);
    return answer(std::move(res));
  }
  if (!request.unix_socket && !options_.hosts.empty() &&
      std::find(options_.hosts.begin(), options_.hosts.end(), request.host) ==
          options_.hosts.end()) {
    return answer(errorResponse(403, "Host '" + request.host + "' is not this daemon's"));
  }
  const Route& r = route->second;
  const bool needs_token =
      r.access == Access::Mutate || (options_.reads_need_token && !request.unix_socket);
  if (needs_token) {
    if (!options_.token) {
      return answer(errorResponse(
          403, "this daemon has no control_api.token: its control API takes no changes"));
    }
    constexpr std::string_view kBearer = "Bearer ";
    const std::string& auth = request.authorization;
    if (!auth.starts_with(kBearer) ||
        !sameSecret(std::string_view(auth).substr(kBearer.size()), *options_.token)) {
      auto res = errorResponse(401, auth.empty() ? "a token is required (Authorization: Bearer)"
                                                 : "the token is not valid");
      res.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"hftguard\"");
      return answer(std::move(res));
    }
  }
  r.handler(request, answer);
}

bool sameSecret(std::string_view a, std::string_view b) {
  // Every byte of the longer is looked at; the lengths' difference is folded in.
  const std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

net::ServerResponse jsonResponse(int status, const nlohmann::json& body) {
  return {status, "application/json", body.dump(2, ' ', false,
                                                nlohmann::json::error_handler_t::replace) +
                                          "\n",
          {}};
}

net::ServerResponse errorResponse(int status, const std::string& message) {
  return jsonResponse(status, {{"error", message}});
}

std::optional<nlohmann::json> jsonBody(const net::ServerRequest& request, std::string* why) {
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return nlohmann::json::object();
  }
  auto j = nlohmann::json::parse(request.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    if (why != nullptr) *why = "the body is not a JSON object";
    return std::nullopt;
  }
  return j;
}

}  // namespace hftguard::control

#pragma once
// The CLI's side of the control API: one blocking request (libcurl) to the running daemon
// named by a config - over its unix socket when it has one, else its TCP listener - with
// the config's token as a bearer token. `reached` false means no daemon answered there (not
// running, or not yet): a command that can work offline does so.

#include <string>

#include "hftguard/config/config.hpp"
#include "hftguard/core/duration.hpp"

namespace hftguard::control {

struct ClientAnswer {
  bool reached = false;  // a daemon is there (it answered, or took the request and timed out)
  int status = 0;        // 0: connected, no answer (error says why)
  std::string body;
  std::string error;  // why not reached
};

ClientAnswer callDaemon(const config::ControlApiConfig& api, const std::string& method,
                        const std::string& target, const std::string& body = {},
                        Duration timeout = std::chrono::seconds(10));

// One query parameter's value escaped (curl_easy_escape).
std::string escapeQuery(const std::string& value);

}  // namespace hftguard::control

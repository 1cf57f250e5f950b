// What the HTTP-based actions share: the request a step's keys describe, and how an answer
// reads in a message.
#include <fmt/format.h>

#include "hftguard/net/http_client.hpp"

#include "kinds.hpp"

namespace hftguard::actions::kinds {

net::HttpRequest stepRequest(const StepConfig& s, std::string method, std::string url,
                             Duration timeout) {
  const auto& p = s.params;
  net::HttpRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.timeout = timeout;
  if (p.has("tls_verify")) r.tls_verify = p.flag("tls_verify");
  if (p.has("ca_file")) r.ca_file = p.str("ca_file");
  if (p.has("headers")) {
    for (const auto& [k, v] : p.map("headers")) r.headers.emplace_back(k, v);
  }
  if (p.has("bearer_token")) {
    r.headers.emplace_back("Authorization", "Bearer " + p.secret("bearer_token").reveal());
  }
  return r;
}

std::string outcome(const net::HttpResponse& r) {
  return r.answered ? fmt::format("HTTP {}", r.status) : r.error;
}

}  // namespace hftguard::actions::kinds

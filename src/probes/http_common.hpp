#pragma once
// Private: what the http and e2e_order probes share - building the request from the
// check's parameters and mapping transport failures, status and latency to an outcome.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "hftguard/net/http_client.hpp"
#include "hftguard/probes/probe.hpp"
#include "json_field.hpp"

namespace hftguard::probes::kinds {

// Request with the check's headers, bearer token, TLS options and timeout.
net::HttpRequest requestFor(const config::CheckConfig& c, std::string method);

// A failed outcome for no answer / unexpected status / too slow; nullopt when all is well.
std::optional<ProbeOutcome> checkResponse(const net::HttpResponse& r, const std::string& url,
                                          long expect_status, std::optional<Duration> max_latency);

// Sends requests and cancels the open one at the deadline; the kind supplies evaluate().
class HttpProbeBase : public Probe {
 public:
  HttpProbeBase(ProbeEnv& env) : env_(env) {}
  ~HttpProbeBase() override { cancel(); }
  void cancel() override;

 protected:
  void send(net::HttpRequest request, std::function<ProbeOutcome(const net::HttpResponse&)> eval,
            Done done);
  ProbeEnv& env_;

 private:
  std::optional<net::HttpClient::RequestId> open_;
};

}  // namespace hftguard::probes::kinds

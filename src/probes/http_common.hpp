#pragma once
// Private: what the http and e2e_order probes share - building the request from the
// check's parameters and mapping transport failures, status and latency to an outcome.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "hftguard/net/http_client.hpp"
#include "hftguard/net/plain_http.hpp"
#include "hftguard/probes/probe.hpp"
#include "json_field.hpp"

namespace hftguard::probes::kinds {

// Request with the check's headers, bearer token, TLS options and timeout.
net::HttpRequest requestFor(const config::CheckConfig& c, std::string method);

// A failed outcome for no answer / unexpected status / too slow; nullopt when all is well.
std::optional<ProbeOutcome> checkResponse(const net::HttpResponse& r, const std::string& url,
                                          long expect_status, std::optional<Duration> max_latency);

// Sends the check's request, prepared once, and cancels the open one at the deadline; the
// kind supplies evaluate(). A plain `http://` request goes out on the Asio path
// (net/plain_http.hpp), anything else through libcurl.
class HttpProbeBase : public Probe {
 public:
  HttpProbeBase(ProbeEnv& env, net::HttpRequest request);
  ~HttpProbeBase() override { cancel(); }
  void start(Done done) final;
  void cancel() final;

 protected:
  virtual ProbeOutcome evaluate(const net::HttpResponse& r) const = 0;
  ProbeEnv& env_;

 private:
  void answered(net::HttpResponse r);

  net::HttpRequest request_;
  std::shared_ptr<const net::PlainHttpRequest> plain_;
  std::weak_ptr<net::PlainHttpRequest::Call> call_;
  std::optional<net::HttpClient::RequestId> open_;
  Done done_;
};

}  // namespace hftguard::probes::kinds

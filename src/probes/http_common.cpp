#include "http_common.hpp"

#include <fmt/format.h>

namespace hftguard::probes::kinds {

net::HttpRequest requestFor(const config::CheckConfig& c, std::string method) {
  net::HttpRequest r;
  r.method = std::move(method);
  r.url = c.params.str("url");
  // A little past the check's deadline: the scheduler reports the timeout, uniformly for
  // every kind, and curl only cleans up a transfer that was abandoned.
  r.timeout = c.timeout + std::chrono::milliseconds(100);
  r.tls_verify = c.params.flag("tls_verify");
  if (c.params.has("ca_file")) r.ca_file = c.params.str("ca_file");
  if (c.params.has("headers")) {
    for (const auto& [k, v] : c.params.map("headers")) r.headers.emplace_back(k, v);
  }
  if (c.params.has("bearer_token")) {
    r.headers.emplace_back("Authorization", "Bearer " + c.params.secret("bearer_token").reveal());
  }
  if (c.params.has("max_body_bytes")) {
    r.max_body_bytes = static_cast<std::size_t>(c.params.integer("max_body_bytes"));
  }
  return r;
}

std::optional<ProbeOutcome> checkResponse(const net::HttpResponse& r, const std::string& url,
                                          long expect_status, std::optional<Duration> max_latency) {
  if (!r.answered) return ProbeOutcome::failed(fmt::format("{}: {}", url, r.error));
  const double ms = std::chrono::duration<double, std::milli>(r.elapsed).count();
  if (r.status != expect_status) {
    return ProbeOutcome::failed(
               fmt::format("HTTP {} from {} (expected {})", r.status, url, expect_status))
        .observe("http_status", static_cast<double>(r.status))
        .observe("latency_ms", ms);
  }
  if (max_latency && r.elapsed > *max_latency) {
    return ProbeOutcome::failed(fmt::format("slow answer from {}: {:.0f}ms over {}", url, ms,
                                            formatDuration(*max_latency)))
        .observe("latency_ms", ms);
  }
  return std::nullopt;
}

HttpProbeBase::HttpProbeBase(ProbeEnv& env, net::HttpRequest request)
    : env_(env), request_(std::move(request)), plain_(net::PlainHttpRequest::prepare(request_)) {}

void HttpProbeBase::cancel() {
  if (auto call = call_.lock()) call->cancel();
  call_.reset();
  if (open_) env_.http.cancel(*open_);
  open_.reset();
  done_ = nullptr;
}

void HttpProbeBase::start(Done done) {
  done_ = std::move(done);
  // The callbacks hold only the probe: it outlives its runs, and cancel() withdraws them.
  if (plain_) {
    call_ = plain_->send(env_.io, [this](net::HttpResponse r) { answered(std::move(r)); });
    return;
  }
  open_ = env_.http.send(request_, [this](net::HttpResponse r) {
    open_.reset();
    answered(std::move(r));
  });
}

void HttpProbeBase::answered(net::HttpResponse r) {
  call_.reset();
  Done done = std::move(done_);
  done_ = nullptr;
  if (done) done(evaluate(r));
}

}  // namespace hftguard::probes::kinds

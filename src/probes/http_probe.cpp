// http: status, latency, body size cap and an optional JSON field match.
#include <fmt/format.h>

#include "http_common.hpp"
#include "json_field.hpp"
#include "kinds.hpp"

namespace hftguard::probes::kinds {
namespace {

class HttpProbe final : public HttpProbeBase {
 public:
  HttpProbe(const CheckConfig& c, ProbeEnv& env)
      : HttpProbeBase(env, requestFor(c, c.params.str("method"))), check_(c) {
    if (c.params.has("max_latency")) max_latency_ = c.params.duration("max_latency");
    if (c.params.has("json_field")) field_ = c.params.str("json_field");
    if (c.params.has("json_equals")) equals_ = c.params.str("json_equals");
  }

 private:
  ProbeOutcome evaluate(const net::HttpResponse& r) const override {
    const std::string& url = check_.params.str("url");
    const long expect = static_cast<long>(check_.params.integer("expect_status"));
    if (auto bad = checkResponse(r, url, expect, max_latency_)) return *bad;
    const double ms = std::chrono::duration<double, std::milli>(r.elapsed).count();
    ProbeOutcome ok = ProbeOutcome::ok(fmt::format("HTTP {} in {:.1f}ms", r.status, ms));
    ok.observe("latency_ms", ms);
    if (!field_) return ok;
    if (auto bad = jsonFieldMismatch(r.body, *field_, equals_, url)) return *bad;
    return ok;
  }

  const CheckConfig& check_;
  std::optional<Duration> max_latency_;
  std::optional<std::string> field_;
  std::optional<std::string> equals_;
};

}  // namespace

std::unique_ptr<Probe> makeHttp(const CheckConfig& c, ProbeEnv& env) {
  return std::make_unique<HttpProbe>(c, env);
}

}  // namespace hftguard::probes::kinds

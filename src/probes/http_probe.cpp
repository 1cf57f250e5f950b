// http: status, latency, body size cap and an optional JSON field match.
#include <fmt/format.h>

#include "http_common.hpp"
#include "kinds.hpp"

namespace hftguard::probes::kinds {
namespace {

// json_field (a JSON pointer) must be in the body and, with json_equals, have that value:
// nullopt when it holds, else the outcome. Pure, so it is fuzzed (fuzz/fuzz_json_field.cpp).
std::optional<ProbeOutcome> jsonFieldMismatch(const std::string& body, const std::string& field,
                                              const std::optional<std::string>& equals,
                                              const std::string& url) {
  auto doc = parseJson(body);
  if (!doc) return ProbeOutcome::failed(fmt::format("malformed JSON body from {}", url));
  nlohmann::json::json_pointer pointer;
  try {
    pointer = nlohmann::json::json_pointer(field);
  } catch (const nlohmann::json::exception&) {
    return ProbeOutcome::error(fmt::format("json_field '{}' is not a JSON pointer", field));
  }
  if (!doc->contains(pointer)) {
    return ProbeOutcome::failed(fmt::format("{} missing from the body of {}", field, url));
  }
  const std::string value = jsonText(doc->at(pointer));
  if (equals && value != *equals) {
    return ProbeOutcome::failed(
        fmt::format("{} is '{}', expected '{}' ({})", field, value, *equals, url));
  }
  return std::nullopt;
}

class HttpProbe final : public HttpProbeBase {
 public:
  HttpProbe(const CheckConfig& c, ProbeEnv& env) : HttpProbeBase(env), check_(c) {
    if (c.params.has("max_latency")) max_latency_ = c.params.duration("max_latency");
    if (c.params.has("json_field")) field_ = c.params.str("json_field");
    if (c.params.has("json_equals")) equals_ = c.params.str("json_equals");
  }

  void start(Done done) override {
    send(
        requestFor(check_, check_.params.str("method")),
        [this](const net::HttpResponse& r) { return evaluate(r); }, std::move(done));
  }

 private:
  ProbeOutcome evaluate(const net::HttpResponse& r) const {
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

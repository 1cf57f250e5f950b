// e2e_order: the runbook's layer-4 test - POST a dry-run order, require HTTP 200 and
// "status": "SUCCESS".
#include <fmt/format.h>

#include "http_common.hpp"
#include "kinds.hpp"

namespace hftguard::probes::kinds {
namespace {

class E2eOrderProbe final : public HttpProbeBase {
 public:
  E2eOrderProbe(const CheckConfig& c, ProbeEnv& env)
      : HttpProbeBase(env, orderRequest(c)), check_(c) {}

 private:
  // The same dry-run order every run: built once.
  static net::HttpRequest orderRequest(const CheckConfig& c) {
    const auto& p = c.params;
    net::HttpRequest req = requestFor(c, "POST");
    req.body = nlohmann::json{{"symbol", p.str("symbol")},  {"quantity", p.integer("quantity")},
                              {"side", p.str("side")},      {"type", p.str("order_type")},
                              {"price", p.number("price")}, {"dry_run", true}}
                   .dump();
    req.headers.emplace_back("Content-Type", "application/json");
    return req;
  }

  ProbeOutcome evaluate(const net::HttpResponse& r) const override {
    const std::string& url = check_.params.str("url");
    if (auto bad = checkResponse(r, url, 200, std::nullopt)) return *bad;
    auto body = parseJson(r.body);
    if (!body || !body->is_object()) {
      return ProbeOutcome::failed(fmt::format("test order: malformed JSON answer from {}", url));
    }
    const auto status = body->find("status");
    if (status == body->end() || jsonText(*status) != "SUCCESS") {
      return ProbeOutcome::failed(fmt::format("test order rejected: status {}",
                                              status == body->end() ? "missing" : status->dump()));
    }
    const double ms = std::chrono::duration<double, std::milli>(r.elapsed).count();
    return ProbeOutcome::ok(fmt::format("test order accepted in {:.1f}ms", ms))
        .observe("latency_ms", ms);
  }

  const CheckConfig& check_;
};

}  // namespace

std::unique_ptr<Probe> makeE2eOrder(const CheckConfig& c, ProbeEnv& env) {
  return std::make_unique<E2eOrderProbe>(c, env);
}

}  // namespace hftguard::probes::kinds

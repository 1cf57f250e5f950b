// e2e_order: the dry-run test order through a URL (the load balancer) as the final
// verification of a failover.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hftguard/net/http_client.hpp"

#include "hftguard/actions/template.hpp"

#include "kinds.hpp"

namespace hftguard::actions::kinds {
namespace {

class E2eOrderAction final : public HttpAction {
 public:
  E2eOrderAction(const StepConfig& s, const PlanContext& c, ActionEnv& env)
      : HttpAction(env), step_(s), url_(fillUrl(s.params.str("url"), c)) {}

  std::string describe() const override {
    return fmt::format("dry-run test order {} {} {} through {}", step_.params.str("side"),
                       step_.params.integer("quantity"), step_.params.str("symbol"),
                       url_);
  }
  // The final verification checks the state the plan creates; before the plan (a dry run)
  // only the path to it is checked.
  void check(Done done) override {
    reachable(stepRequest(step_, "POST", url_, step_.timeout), url_, std::move(done));
  }

  void run(Done done) override {
    const auto& p = step_.params;
    auto r = stepRequest(step_, "POST", url_, step_.timeout);
    r.body = nlohmann::json{{"symbol", p.str("symbol")},  {"quantity", p.integer("quantity")},
                            {"side", p.str("side")},      {"type", p.str("order_type")},
                            {"price", p.number("price")}, {"dry_run", true}}
                 .dump();
    r.headers.emplace_back("Content-Type", "application/json");
    send(std::move(r), [done, url = url_](const net::HttpResponse& resp) {
      if (!resp.answered || resp.status != 200) {
        return done(
            ActionResult::failure(fmt::format("test order through {}: {}", url, outcome(resp))));
      }
      auto body = nlohmann::json::parse(resp.body, nullptr, false);
      // Compared, not read with value(): a "status" that is no string is a refusal, not a
      // type_error thrown on the loop.
      if (!body.is_object() || !body.contains("status") || body["status"] != "SUCCESS") {
        return done(ActionResult::failure(
            fmt::format("test order through {} not accepted: {}", url, resp.body.substr(0, 200))));
      }
      done(ActionResult::success(fmt::format("test order accepted through {}", url)));
    });
  }

 private:
  const StepConfig& step_;
  std::string url_;  // {new_primary.api}... filled
};

}  // namespace

std::unique_ptr<Action> makeE2eOrder(const StepConfig& s, const PlanContext& c, ActionEnv& env) {
  return std::make_unique<E2eOrderAction>(s, c, env);
}

}  // namespace hftguard::actions::kinds

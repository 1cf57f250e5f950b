// http_request: the generic load-balancer / DNS / engine admin call - method, URL, headers,
// templated JSON or form body, expected status.
#include <fmt/format.h>

#include "hftguard/actions/template.hpp"
#include "hftguard/net/http_client.hpp"

#include "kinds.hpp"

namespace hftguard::actions::kinds {
namespace {

class HttpRequestAction final : public HttpAction {
 public:
  HttpRequestAction(const StepConfig& s, const PlanContext& c, ActionEnv& env)
      : HttpAction(env), step_(s), url_(fillUrl(s.params.str("url"), c)) {
    const auto& p = s.params;
    if (p.has("form")) {
      std::string form;
      for (const auto& [k, v] : p.map("form")) {
        form += (form.empty() ? "" : "&") + formEncoded(k) + "=" + fillForm(v, c);
      }
      body_ = form;
      content_type_ = "application/x-www-form-urlencoded";
    } else if (p.has("body")) {
      content_type_ = p.str("content_type");
      // A value inside a JSON body is a JSON string's content ({reason} quotes libpq errors).
      const bool json = content_type_.find("json") != std::string::npos;
      body_ = json ? fillJson(p.str("body"), c) : fill(p.str("body"), c);
    }
  }

  std::string describe() const override {
    return fmt::format("{} {}{} (expect HTTP {})", step_.params.str("method"), url_,
                       body_.empty() ? "" : " with " + body_,
                       step_.params.integer("expect_status"));
  }

  // A dry run only proves the endpoint reachable: calling it would change something.
  void check(Done done) override {
    reachable(stepRequest(step_, "GET", url_, step_.timeout), url_, std::move(done));
  }

  void run(Done done) override {
    auto r = stepRequest(step_, step_.params.str("method"), url_, step_.timeout);
    r.body = body_;
    if (!body_.empty()) r.headers.emplace_back("Content-Type", content_type_);
    send(std::move(r), [this, done](const net::HttpResponse& resp) {
      const long expect = static_cast<long>(step_.params.integer("expect_status"));
      if (resp.answered && resp.status == expect) {
        return done(ActionResult::success(
            fmt::format("{} {}: HTTP {}", step_.params.str("method"), url_, resp.status)));
      }
      ActionResult failed = ActionResult::failure(fmt::format(
          "{} {}: {} (expected HTTP {}){}", step_.params.str("method"), url_, outcome(resp), expect,
          resp.body.empty() ? "" : ": " + resp.body.substr(0, 200)));
      failed.refused = resp.refused;
      failed.unanswered = !resp.answered;
      done(std::move(failed));
    });
  }

 private:
  const StepConfig& step_;
  std::string url_;
  std::string body_;
  std::string content_type_;
};

}  // namespace

std::unique_ptr<Action> makeHttpRequest(const StepConfig& s, const PlanContext& c, ActionEnv& env) {
  return std::make_unique<HttpRequestAction>(s, c, env);
}

}  // namespace hftguard::actions::kinds

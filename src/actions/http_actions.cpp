// http_check (a URL must be up or down, once or until a deadline), http_request (the generic
// LB / DNS / engine admin call) and e2e_order (the dry-run test order as final verification).
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hftguard/net/http_client.hpp"
#include "kinds.hpp"

namespace hftguard::actions::kinds {

net::HttpRequest stepRequest(const StepConfig& s, std::string method, std::string url, Duration timeout) {
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

namespace {

std::string outcome(const net::HttpResponse& r) {
  return r.answered ? fmt::format("HTTP {}", r.status) : r.error;
}

class HttpCheck final : public HttpAction {
 public:
  HttpCheck(const StepConfig& s, const PlanContext& c, ActionEnv& env)
      : HttpAction(env), step_(s), url_(fill(s.params.str("url"), c)), timer_(env.io) {}

  std::string describe() const override {
    return fmt::format("{} {} is {}", step_.params.flag("wait_until") ? "wait until" : "require", url_,
                       step_.params.str("expect"));
  }
  // A wait_until step waits for what earlier steps cause, so a dry run (which causes
  // nothing) only proves the URL reachable; a plain check is a precondition, evaluated.
  void check(Done done) override {
    if (!step_.params.flag("wait_until")) return once(std::move(done), false);
    reachable(stepRequest(step_, "GET", url_, step_.timeout), url_, std::move(done));
  }
  void run(Done done) override { once(std::move(done), step_.params.flag("wait_until")); }
  void cancel() override {
    timer_.cancel();
    HttpAction::cancel();
  }

 private:
  void once(Done done, bool poll) {
    const Duration perRequest = std::min<Duration>(step_.timeout, std::chrono::seconds(2));
    send(stepRequest(step_, "GET", url_, perRequest), [this, done, poll](const net::HttpResponse& r) {
      const bool up = r.answered && r.status == step_.params.integer("expect_status");
      const bool wantUp = step_.params.str("expect") == "up";
      if (up == wantUp) {
        return done(ActionResult::success(fmt::format("{} is {} ({})", url_, wantUp ? "up" : "down", outcome(r))));
      }
      if (!poll) {
        return done(ActionResult::failure(
            fmt::format("{} is {} ({}), expected {}", url_, up ? "up" : "down", outcome(r), wantUp ? "up" : "down")));
      }
      timer_.expires_after(step_.params.duration("poll_interval"));
      timer_.async_wait([this, done, poll](boost::system::error_code ec) {
        if (!ec) once(done, poll);
      });
    });
  }

  const StepConfig& step_;
  std::string url_;
  boost::asio::steady_timer timer_;
};

class HttpRequestAction final : public HttpAction {
 public:
  HttpRequestAction(const StepConfig& s, const PlanContext& c, ActionEnv& env)
      : HttpAction(env), step_(s), url_(fill(s.params.str("url"), c)) {
    const auto& p = s.params;
    if (p.has("form")) {
      std::string form;
      for (const auto& [k, v] : p.map("form")) {
        form += (form.empty() ? "" : "&") + escape(k) + "=" + escape(fill(v, c));
      }
      body_ = form;
      content_type_ = "application/x-www-form-urlencoded";
    } else if (p.has("body")) {
      body_ = fill(p.str("body"), c);
      content_type_ = p.str("content_type");
    }
  }

  std::string describe() const override {
    return fmt::format("{} {}{} (expect HTTP {})", step_.params.str("method"), url_,
                       body_.empty() ? "" : " with " + body_, step_.params.integer("expect_status"));
  }

  // A dry run only proves the endpoint reachable: calling it would change something.
  void check(Done done) override { reachable(stepRequest(step_, "GET", url_, step_.timeout), url_, std::move(done)); }

  void run(Done done) override {
    auto r = stepRequest(step_, step_.params.str("method"), url_, step_.timeout);
    r.body = body_;
    if (!body_.empty()) r.headers.emplace_back("Content-Type", content_type_);
    send(std::move(r), [this, done](const net::HttpResponse& resp) {
      const long expect = static_cast<long>(step_.params.integer("expect_status"));
      if (resp.answered && resp.status == expect) {
        return done(ActionResult::success(fmt::format("{} {}: HTTP {}", step_.params.str("method"), url_, resp.status)));
      }
      done(ActionResult::failure(fmt::format("{} {}: {} (expected HTTP {}){}", step_.params.str("method"), url_,
                                             outcome(resp), expect,
                                             resp.body.empty() ? "" : ": " + resp.body.substr(0, 200))));
    });
  }

 private:
  static std::string escape(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        out += static_cast<char>(c);
      } else {
        out += fmt::format("%{:02X}", c);
      }
    }
    return out;
  }

  const StepConfig& step_;
  std::string url_;
  std::string body_;
  std::string content_type_;
};

class E2eOrderAction final : public HttpAction {
 public:
  E2eOrderAction(const StepConfig& s, const PlanContext&, ActionEnv& env) : HttpAction(env), step_(s) {}

  std::string describe() const override {
    return fmt::format("dry-run test order {} {} {} through {}", step_.params.str("side"),
                       step_.params.integer("quantity"), step_.params.str("symbol"), step_.params.str("url"));
  }
  // The final verification checks the state the plan creates; before the plan (a dry run)
  // only the path to it is checked.
  void check(Done done) override {
    reachable(stepRequest(step_, "POST", step_.params.str("url"), step_.timeout), step_.params.str("url"), std::move(done));
  }

  void run(Done done) override {
    const auto& p = step_.params;
    auto r = stepRequest(step_, "POST", p.str("url"), step_.timeout);
    r.body = nlohmann::json{{"symbol", p.str("symbol")}, {"quantity", p.integer("quantity")},
                            {"side", p.str("side")},     {"type", p.str("order_type")},
                            {"price", p.number("price")}, {"dry_run", true}}
                 .dump();
    r.headers.emplace_back("Content-Type", "application/json");
    send(std::move(r), [done, url = p.str("url")](const net::HttpResponse& resp) {
      if (!resp.answered || resp.status != 200) {
        return done(ActionResult::failure(fmt::format("test order through {}: {}", url, outcome(resp))));
      }
      auto body = nlohmann::json::parse(resp.body, nullptr, false);
      if (body.is_discarded() || !body.is_object() || body.value("status", std::string()) != "SUCCESS") {
        return done(ActionResult::failure(fmt::format("test order through {} not accepted: {}", url,
                                                      resp.body.substr(0, 200))));
      }
      done(ActionResult::success(fmt::format("test order accepted through {}", url)));
    });
  }

 private:
  const StepConfig& step_;
};

}  // namespace

std::unique_ptr<Action> makeHttpCheck(const StepConfig& s, const PlanContext& c, ActionEnv& env) {
  return std::make_unique<HttpCheck>(s, c, env);
}
std::unique_ptr<Action> makeHttpRequest(const StepConfig& s, const PlanContext& c, ActionEnv& env) {
  return std::make_unique<HttpRequestAction>(s, c, env);
}
std::unique_ptr<Action> makeE2eOrder(const StepConfig& s, const PlanContext& c, ActionEnv& env) {
  return std::make_unique<E2eOrderAction>(s, c, env);
}

}  // namespace hftguard::actions::kinds

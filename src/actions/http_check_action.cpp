// http_check: a URL must be up or down (the runbook's "verify primary failure" and "check
// standby health"); wait_until polls until it holds or the step's deadline, never sleeps.
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "hftguard/actions/template.hpp"
#include "hftguard/net/http_client.hpp"

#include "kinds.hpp"

namespace hftguard::actions::kinds {
namespace {

class HttpCheck final : public HttpAction {
 public:
  HttpCheck(const StepConfig& s, const PlanContext& c, ActionEnv& env)
      : HttpAction(env), step_(s), url_(fillUrl(s.params.str("url"), c)), timer_(env.io) {}

  std::string describe() const override {
    return fmt::format("{} {} is {}", step_.params.flag("wait_until") ? "wait until" : "require",
                       url_, step_.params.str("expect"));
  }
  // A wait_until step waits for what earlier steps cause, so a dry run (which causes
  // nothing) only proves the URL reachable; a plain check is a precondition, evaluated.
  void check(Done done) override {
    if (!step_.params.flag("wait_until")) return start(std::move(done), false);
    reachable(stepRequest(step_, "GET", url_, step_.timeout), url_, std::move(done));
  }
  void run(Done done) override { start(std::move(done), step_.params.flag("wait_until")); }
  void cancel() override {
    timer_.cancel();
    life_ = std::make_shared<int>(0);  // a wait already queued with success finds it gone
    HttpAction::cancel();
  }

 private:
  // The step's timeout is its requests' budget: each request may take what is left of it,
  // but for a margin (5 %, at most 100 ms) so that its outcome - no answer is "down" - is
  // seen before the step's own deadline.
  void start(Done done, bool poll) {
    const Duration margin = std::min<Duration>(step_.timeout / 20, std::chrono::milliseconds(100));
    until_ = env_.clock.now() + step_.timeout - margin;
    once(std::move(done), poll);
  }

  void once(Done done, bool poll) {
    const Duration left =
        std::max<Duration>(until_ - env_.clock.now(), std::chrono::milliseconds(1));
    send(stepRequest(step_, "GET", url_, left), [this, done, poll](const net::HttpResponse& r) {
      const bool up = r.answered && r.status == step_.params.integer("expect_status");
      const bool wantUp = step_.params.str("expect") == "up";
      if (up == wantUp) {
        return done(ActionResult::success(
            fmt::format("{} is {} ({})", url_, wantUp ? "up" : "down", outcome(r))));
      }
      if (!poll) {
        return done(ActionResult::failure(fmt::format("{} is {} ({}), expected {}", url_,
                                                      up ? "up" : "down", outcome(r),
                                                      wantUp ? "up" : "down")));
      }
      timer_.expires_after(step_.params.duration("poll_interval"));
      timer_.async_wait(
          [this, done, poll, alive = std::weak_ptr<int>(life_)](boost::system::error_code ec) {
            if (!ec && !alive.expired()) once(done, poll);
          });
    });
  }

  const StepConfig& step_;
  std::string url_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
  SteadyTime until_{};  // this attempt's deadline
};

}  // namespace

std::unique_ptr<Action> makeHttpCheck(const StepConfig& s, const PlanContext& c, ActionEnv& env) {
  return std::make_unique<HttpCheck>(s, c, env);
}

}  // namespace hftguard::actions::kinds

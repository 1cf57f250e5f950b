#pragma once
// Private: the factory of each action kind, one file each, listed in registry.cpp, and what
// the HTTP-based kinds share.

#include <memory>

#include "hftguard/actions/action.hpp"
#include "hftguard/net/http_client.hpp"

namespace hftguard::actions::kinds {

using config::StepConfig;

std::unique_ptr<Action> makeHttpCheck(const StepConfig& s, const PlanContext& c, ActionEnv& env);
std::unique_ptr<Action> makeHttpRequest(const StepConfig& s, const PlanContext& c, ActionEnv& env);
std::unique_ptr<Action> makeE2eOrder(const StepConfig& s, const PlanContext& c, ActionEnv& env);
std::unique_ptr<Action> makeRedisSet(const StepConfig& s, const PlanContext& c, ActionEnv& env);
std::unique_ptr<Action> makeExec(const StepConfig& s, const PlanContext& c, ActionEnv& env);
std::unique_ptr<Action> makeHaproxy(const StepConfig& s, const PlanContext& c, ActionEnv& env);
std::unique_ptr<Action> makeKvPut(const StepConfig& s, const PlanContext& c, ActionEnv& env);
std::unique_ptr<Action> makeKvDelete(const StepConfig& s, const PlanContext& c, ActionEnv& env);
std::unique_ptr<Action> makePgPromote(const StepConfig& s, const PlanContext& c, ActionEnv& env);
std::unique_ptr<Action> makePgFinalSync(const StepConfig& s, const PlanContext& c,
                                        ActionEnv& env);
std::unique_ptr<Action> makePatroni(const StepConfig& s, const PlanContext& c, ActionEnv& env);
std::unique_ptr<Action> makeRedisSentinel(const StepConfig& s, const PlanContext& c,
                                          ActionEnv& env);
std::unique_ptr<Action> makeDns(const StepConfig& s, const PlanContext& c, ActionEnv& env);
std::unique_ptr<Action> makeFence(const StepConfig& s, const PlanContext& c, ActionEnv& env);

// "HTTP 503", or why there was no answer.
std::string outcome(const net::HttpResponse& r);

// A request with the step's headers, bearer token and TLS options; `timeout` per request.
net::HttpRequest stepRequest(const StepConfig& s, std::string method, std::string url,
                             Duration timeout);

// Sends requests and abandons the one in flight on cancel() or destruction.
class HttpAction : public Action {
 public:
  explicit HttpAction(ActionEnv& env) : env_(env) {}
  ~HttpAction() override { cancel(); }
  void cancel() override {
    if (open_) env_.http.cancel(*open_);
    open_.reset();
  }

 protected:
  // Success when a connection to the request's host opens; nothing is sent.
  void reachable(net::HttpRequest r, const std::string& url, Done done) {
    r.connect_only = true;
    send(std::move(r), [url, done = std::move(done)](const net::HttpResponse& resp) {
      if (resp.answered) return done(ActionResult::success(url + " is reachable"));
      ActionResult failed = ActionResult::failure(url + " is not reachable: " + resp.error);
      failed.refused = resp.refused;  // its host said no one listens: evidence, not doubt
      failed.unanswered = true;
      done(std::move(failed));
    });
  }

  void send(net::HttpRequest r, std::function<void(const net::HttpResponse&)> then) {
    open_ = env_.http.send(std::move(r), [this, then = std::move(then)](net::HttpResponse resp) {
      open_.reset();
      then(resp);
    });
  }
  ActionEnv& env_;

 private:
  std::optional<net::HttpClient::RequestId> open_;
};

}  // namespace hftguard::actions::kinds

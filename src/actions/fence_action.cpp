// fence: isolate the old primary so it cannot take traffic or writes again - take it out
// of the load balancer (maint), mark nodes/<node>/fenced in the KV store, ask it to stop
// (POST to stop_url, or an argv) - each part done and verified by the action it borrows.
// Every part is attempted, all at once; the fence succeeds only when all did, and says so in
// `fenced`, the evidence pg_promote and patroni read from the plan. A fence with no part fails.
#include <cstdint>
#include <optional>

#include <fmt/format.h>

#include "kinds.hpp"

namespace hftguard::actions::kinds {
namespace {

class Fence final : public Action {
 public:
  Fence(const StepConfig& s, const PlanContext& c, ActionEnv& env) {
    const auto& p = s.params;
    name_ = s.name;
    target_ = p.has("target") ? fill(p.str("target"), c) : c.old_primary;
    self_fenced_ = c.self_fenced;
    auto part = [&](std::string name, std::string action) -> config::Params& {
      auto step = std::make_unique<config::StepConfig>();
      step->name = s.name + "/" + name;
      step->action = std::move(action);
      // A part ends a little before the step: a part that never answers is then a part's
      // failure, said with the others' results, not the whole step running out of time.
      step->timeout = s.timeout * 9 / 10;
      if (p.has("tls_verify")) step->params.set("tls_verify", p.flag("tls_verify"));
      parts_.push_back(std::move(step));
      return parts_.back()->params;
    };
    if (p.has("haproxy_socket")) {
      auto& h = part("lb", "haproxy");
      h.set("socket", p.str("haproxy_socket"));
      h.set("backend", p.str("haproxy_backend"));
      h.set("server", p.str("haproxy_server"));
      h.set("state", std::string("maint"));
    }
    if (p.has("kv_store")) {
      auto& k = part("kv", "kv_put");
      k.set("store", p.str("kv_store"));
      k.set("endpoints", p.list("kv_endpoints"));
      k.set("key", p.str("kv_key"));
      k.set("value", std::string("true"));
      if (p.has("kv_token")) k.set("token", p.secret("kv_token"));
    }
    if (p.has("stop_url")) {
      auto& h = part("stop", "http_request");
      h.set("url", p.str("stop_url"));
      h.set("method", std::string("POST"));
      h.set("content_type", std::string("application/json"));
      h.set("expect_status", std::int64_t{200});
    } else if (p.has("stop_argv")) {
      auto& e = part("stop", "exec");
      e.set("argv", p.list("stop_argv"));
      e.set("expect_exit", std::int64_t{0});
    }
    for (const auto& step : parts_) actions_.push_back(makeAction(*step, c, env));
  }

  std::string describe() const override {
    std::string out = "fence " + target_ + ":";
    for (const auto& a : actions_) out += " [" + a->describe() + "]";
    return out;
  }

  void check(Done done) override { all(true, std::move(done)); }
  void run(Done done) override { all(false, std::move(done)); }
  void cancel() override {
    ++round_;  // a part answering after the deadline is not heard
    for (auto& a : actions_) a->cancel();
  }

 private:
  // Every part is attempted at once and recorded, whatever the others do: a load balancer
  // that refused still leaves the KV mark and the stop worth doing, and none waits for
  // another (the fence takes as long as its slowest part, not their sum). Any failed part
  // fails the fence, and a later promotion in the plan is then refused.
  void all(bool dry, Done done) {
    const std::uint64_t round = ++round_;
    if (actions_.empty()) {
      ActionResult r = ActionResult::failure(fmt::format(
          "fencing {} failed: no part configured (haproxy_socket, kv_store, stop_url/argv)",
          target_));
      r.fenced = false;
      return done(std::move(r));
    }
    results_.assign(actions_.size(), std::nullopt);
    for (std::size_t i = 0; i < actions_.size(); ++i) {
      auto cb = [this, i, round, done](ActionResult r) {
        if (round != round_ || results_[i]) return;
        results_[i] = std::move(r);
        for (const auto& x : results_) {
          if (!x) return;
        }
        finish(done);
      };
      dry ? actions_[i]->check(cb) : actions_[i]->run(cb);
      if (round != round_) return;  // finished (or cancelled) inside the call
    }
  }

  void finish(const Done& done) {
    ++round_;
    std::string details;
    bool allOk = true;
    for (std::size_t i = 0; i < actions_.size(); ++i) {
      const ActionResult& r = *results_[i];
      const std::string name = parts_[i]->name.substr(name_.size() + 1);
      // A stop request its host refused: nothing listens there any more (a crashed
      // primary), which is what the stop was to make so - in a dry run (a plan re-verified
      // by the daemon taking it over) as in the real one. A timeout proves nothing.
      // No answer from a stop_url (behind a partition) counts only with the evidence that
      // the old primary's host has fenced itself meanwhile (PlanContext::self_fenced).
      const bool refused = !r.ok && r.refused && name == "stop";
      const bool self_fenced =
          !r.ok && !refused && r.unanswered && name == "stop" && !self_fenced_.empty();
      const bool stopped = refused || self_fenced;
      details += fmt::format("{}{} {}: {}", details.empty() ? "" : "; ", name,
                             r.ok      ? "ok"
                             : refused ? "ok (refused: nothing listens)"
                             : self_fenced
                                 ? "ok (no answer, but its host fenced itself: " + self_fenced_ + ")"
                                 : "FAILED",
                             r.detail);
      allOk = allOk && (r.ok || stopped);
    }
    ActionResult r = allOk ? ActionResult::success(fmt::format("{} fenced: {}", target_, details))
                           : ActionResult::failure(
                                 fmt::format("fencing {} failed: {}", target_, details));
    r.fenced = allOk;
    done(std::move(r));
  }

  std::string name_;  // the step's, prefix of its parts' names
  std::string target_;
  std::string self_fenced_;
  std::vector<std::unique_ptr<config::StepConfig>> parts_;  // the borrowed actions refer to these
  std::vector<std::unique_ptr<Action>> actions_;
  std::vector<std::optional<ActionResult>> results_;  // this round's, in part order
  std::uint64_t round_ = 0;
};

}  // namespace

std::unique_ptr<Action> makeFence(const StepConfig& s, const PlanContext& c, ActionEnv& env) {
  return std::make_unique<Fence>(s, c, env);
}

}  // namespace hftguard::actions::kinds

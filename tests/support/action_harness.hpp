#pragma once
// Test support: runs (or dry-runs) one action to its result on a caller's event loop; and
// the rig the action tests and benchmarks share - a loop, its clients, and one step given
// as YAML, run to its result.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "hftguard/actions/action.hpp"
#include "hftguard/config/loader.hpp"
#include "hftguard/net/http_client.hpp"
#include "hftguard/net/worker_pool.hpp"

namespace hftguard::testing {

inline actions::ActionResult runAction(boost::asio::io_context& io, actions::Action& action,
                                       bool dry_run,
                                       std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  std::optional<actions::ActionResult> result;
  auto done = [&](actions::ActionResult r) { result = std::move(r); };
  dry_run ? action.check(done) : action.run(done);
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!result && std::chrono::steady_clock::now() < until) {
    if (io.stopped()) io.restart();
    io.run_one_for(std::chrono::milliseconds(20));
  }
  return result.value_or(actions::ActionResult::failure("no result within the test's limit"));
}

class ActionRig {
 public:
  // `keys` is the step as the inside of a YAML flow map ("action: dns, zone: ..."); secrets
  // written as ${NAME} are looked up in `secrets`. A config error is the result's failure.
  actions::ActionResult step(const std::string& keys, bool dry_run,
                             const actions::PlanContext& ctx = {},
                             std::chrono::milliseconds limit = std::chrono::seconds(30),
                             config::EnvLookup secrets = {}) {
    auto r = config::loadConfigString(
        "node: {name: n1}\nplans:\n  p: {steps: [{" + keys +
            "}]}\ncomponents:\n  c: {tier: cold, rto_target: 1m, checks: {t: {type: tcp, host: "
            "127.0.0.1, port: 1}}}\n",
        "step.yaml", {.env = std::move(secrets)});
    if (!r.ok()) return actions::ActionResult::failure("config: " + r.errors.at(0).format());
    cfg_ = r.config;  // the action refers to its step
    auto action = actions::makeAction(cfg_->findPlan("p")->steps.at(0), ctx, env);
    return runAction(io, *action, dry_run, limit);
  }

  boost::asio::io_context io;
  SystemClock clock;
  net::HttpClient http{io};
  net::WorkerPool workers{io, 2};
  actions::ActionEnv env{io, http, workers, clock};

 private:
  std::shared_ptr<const config::Config> cfg_;
};

}  // namespace hftguard::testing

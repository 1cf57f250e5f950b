#pragma once
// Test support: one step run as a plan by the real FailoverRunner - with its deadline,
// retries and cancel - on a loop of its own, timed. What the failure-path tests need: a
// step's outcome as the daemon would record it, not the action's alone.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "hftguard/actions/runner.hpp"
#include "hftguard/config/loader.hpp"
#include "hftguard/net/http_client.hpp"
#include "hftguard/net/worker_pool.hpp"

#include "process.hpp"

namespace hftguard::testing {

// Grants every run with the fencing token the test chose (an etcd leader key's revision).
class TokenCoordinator final : public coord::Coordinator {
 public:
  explicit TokenCoordinator(std::string token) : token_(std::move(token)) {}
  std::string name() const override { return "test"; }
  std::unique_ptr<coord::Lease> acquire(const std::string&, coord::Grant& grant) override {
    grant = {true, token_, "test: token " + token_};
    return std::make_unique<coord::Lease>();
  }

 private:
  std::string token_;
};

class PlanRig {
 public:
  // Set: real runs get this fencing token (else the local coordinator's).
  std::optional<std::string> token;

  struct Outcome {
    actions::RunReport report;
    std::chrono::steady_clock::duration took{};
    std::vector<std::string> events;  // types, in order
  };

  // `steps` is the plan's list ("[{name: a, action: ...}, ...]"); every ${NAME} secret reads
  // "test-secret". Runs until the plan ends or `limit` passes.
  Outcome run(const std::string& steps, const actions::PlanContext& ctx = {}, bool dry_run = false,
              std::chrono::milliseconds limit = std::chrono::seconds(60)) {
    auto r = config::loadConfigString(
        "node: {name: n1}\nplans:\n  p: {steps: " + steps +
            "}\ncomponents:\n  c: {tier: cold, rto_target: 1m, checks: {t: {type: tcp, host: "
            "127.0.0.1, port: 1}}}\n",
        "plan.yaml",
        {.env = [](const std::string&) -> std::optional<std::string> { return "test-secret"; }});
    Outcome out;
    if (!r.ok()) {
      out.report.reason = "config: " + r.errors.at(0).format();
      return out;
    }
    cfg_ = r.config;
    coordinator_ = token ? std::make_unique<TokenCoordinator>(*token)
                         : coord::makeLocalCoordinator(dir_.path());
    actions::FailoverRunner runner(
        env, *coordinator_,
        [&out](const std::string& type, const std::string&, const std::string&, nlohmann::json) {
          out.events.push_back(type);
        });
    actions::RunRequest request;
    request.component = "c";
    request.plan = cfg_->findPlan("p");
    request.context = ctx;
    request.dry_run = dry_run;
    std::optional<actions::RunReport> report;
    const auto t0 = std::chrono::steady_clock::now();
    runner.start(request, [&](const actions::RunReport& rep) {
      report = rep;
      out.took = std::chrono::steady_clock::now() - t0;
    });
    while (!report && std::chrono::steady_clock::now() - t0 < limit) {
      if (io.stopped()) io.restart();
      io.run_one_for(std::chrono::milliseconds(20));
    }
    if (!report) {
      out.report.reason = "no outcome within the test's limit";
      out.took = std::chrono::steady_clock::now() - t0;
      return out;
    }
    out.report = *report;
    return out;
  }

  boost::asio::io_context io;
  SystemClock clock;
  net::HttpClient http{io};
  net::WorkerPool workers{io, 2};
  actions::ActionEnv env{io, http, workers, clock};

 private:
  TempDir dir_{"hftguard-plan-rig"};
  std::shared_ptr<const config::Config> cfg_;
  std::unique_ptr<coord::Coordinator> coordinator_;
};

}  // namespace hftguard::testing

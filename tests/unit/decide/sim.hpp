#pragma once
// The decider on a simulated clock: configs written as YAML, results fed one by one.

#include <gtest/gtest.h>

#include "hftguard/config/loader.hpp"
#include "hftguard/decide/decider.hpp"

namespace hftguard::decide::sim {

using namespace std::chrono_literals;
using Kind = Decision::Kind;
using probes::ProbeStatus;

// One or more components, each with checks written as YAML flow maps.
inline std::shared_ptr<const config::Config> configOf(const std::string& components,
                                                      const std::string& extra = "") {
  auto r = config::loadConfigString(
      "node: {name: n1}\n"
      "plans:\n  p: {steps: [{action: http_check, url: 'http://127.0.0.1:1/', expect: up}]}\n"
      "  site: {steps: [{action: http_check, url: 'http://127.0.0.1:1/', expect: up}]}\n" +
          extra + "components:\n" + components,
      "test.yaml");
  for (const auto& e : r.errors) ADD_FAILURE() << e.format();
  return r.config;
}

inline std::string component(const std::string& name, const std::string& checks,
                             const std::string& more = "") {
  return "  " + name + ":\n    tier: hot\n    rto_target: 30s\n    plan: p\n" + more +
         "    checks:\n" + checks;
}

inline const std::string kHttp =
    "      h: {type: http, url: 'http://127.0.0.1:1/', interval: 1s}\n";

class Sim {
 public:
  explicit Sim(std::shared_ptr<const config::Config> cfg) : cfg_(std::move(cfg)), decider_(*cfg_) {}

  std::vector<Decision> result(const std::string& comp, const std::string& check, bool ok,
                               Duration latency = 5ms, std::vector<probes::Observation> obs = {}) {
    probes::ProbeResult r;
    r.component = comp;
    r.check = check;
    r.status = ok ? ProbeStatus::Ok : ProbeStatus::Failed;
    r.reason = ok ? "fine" : "HTTP 500";
    r.latency = latency;
    r.observed = std::move(obs);
    r.at = clock_.wallNow();
    r.started = clock_.now() - latency;
    const auto* c = cfg_->findComponent(comp);
    r.informational = c->findCheck(check)->informational;
    return keep(decider_.observe(r, clock_.now()));
  }

  std::vector<Decision> tick() { return keep(decider_.tick(clock_.now(), clock_.wallNow())); }
  // A reload, as the daemon does it: the config before stays alive.
  void reload(std::shared_ptr<const config::Config> next) {
    retired_.push_back(cfg_);
    cfg_ = std::move(next);
    decider_.reconfigure(*cfg_);
  }
  void advance(Duration d) { clock_.advance(d); }
  ManualClock& clock() { return clock_; }
  Decider& decider() { return decider_; }

  std::size_t count(Kind k, const std::string& suppressed_by = "") const {
    std::size_t n = 0;
    for (const auto& d : all_) {
      n += d.kind == k && (suppressed_by.empty() || d.suppressed_by == suppressed_by) ? 1 : 0;
    }
    return n;
  }
  const Decision* last(Kind k) const {
    for (auto it = all_.rbegin(); it != all_.rend(); ++it) {
      if (it->kind == k) return &*it;
    }
    return nullptr;
  }
  const std::vector<Decision>& all() const { return all_; }
  std::vector<Decision> keep(std::vector<Decision> d) {
    all_.insert(all_.end(), d.begin(), d.end());
    return d;
  }

 private:
  std::shared_ptr<const config::Config> cfg_;
  std::vector<std::shared_ptr<const config::Config>> retired_;
  ManualClock clock_;
  Decider decider_;
  std::vector<Decision> all_;
};

// Feeds `n` results one interval apart.
inline void run(Sim& s, const std::string& comp, const std::string& check, bool ok, int n,
                Duration interval = 1s, Duration latency = 5ms) {
  for (int i = 0; i < n; ++i) {
    s.result(comp, check, ok, latency);
    s.tick();
    s.advance(interval);
  }
}

}  // namespace hftguard::decide::sim

#include "probe_harness.hpp"

#include <stdexcept>

namespace hftguard::testing {

std::string configWithChecks(const std::string& checks_yaml) {
  return "node: {name: test-node}\n"
         "components:\n"
         "  c:\n"
         "    tier: cold\n"
         "    rto_target: 1m\n"
         "    checks:\n" +
         checks_yaml;
}

ProbeHarness::ProbeHarness(const std::string& checks_yaml) {
  auto r = config::loadConfigString(configWithChecks(checks_yaml), "test.yaml");
  if (!r.ok()) {
    std::string all;
    for (const auto& e : r.errors) all += e.format() + "\n";
    throw std::runtime_error("test config invalid:\n" + all);
  }
  cfg = r.config;
}

probes::ProbeResult ProbeHarness::run(const std::string& name) {
  const config::ComponentConfig& component = cfg->components.at(0);
  const config::CheckConfig* check = component.findCheck(name);
  if (check == nullptr) throw std::runtime_error("no check " + name);
  // One runner per check, kept across runs like the scheduler keeps it (host CPU needs two).
  auto& runner = runners_[name];
  if (!runner)
    runner = std::make_unique<probes::CheckRunner>(env, probes::CheckRef{&component, check});
  std::optional<probes::ProbeResult> result;
  runner->run(clock.now(), [&](const probes::ProbeResult& r) { result = r; });
  const auto limit = clock.now() + check->timeout + std::chrono::seconds(5);
  while (!result && clock.now() < limit) {
    if (io.stopped()) io.restart();
    io.run_one_for(std::chrono::milliseconds(20));
  }
  if (!result) throw std::runtime_error("no result for " + name);
  return *result;
}

}  // namespace hftguard::testing

#pragma once
// What one run of one check found: a plain value handed forward to the decider, the event
// log and the CLI. Expected failures are values here, never exceptions.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hftguard/config/config.hpp"
#include "hftguard/core/clock.hpp"

namespace hftguard::probes {

// ok: healthy. failed: the target answered wrongly or refused (HTTP 500, wrong role, stale
// key, connection refused). timeout: no answer by the deadline. error: hftguard could not
// ask (resources, malformed config at run time) - the target's health is unknown.
enum class ProbeStatus { Ok, Failed, Timeout, Error };

std::string_view toString(ProbeStatus s);

// A measured value the decider or an operator may need: lag, age, memory ratio, CPU.
struct Observation {
  std::string name;  // "lag_bytes", "age_seconds", "memory_ratio", "cpu_ratio", ...
  double value = 0;
};

// What a probe kind reports; the scheduler adds identity and timing.
struct ProbeOutcome {
  ProbeStatus status = ProbeStatus::Ok;
  std::string reason;  // human, one line: "HTTP 500 from http://...", "replay lag 20 MiB"
  std::vector<Observation> observed;

  static ProbeOutcome ok(std::string reason = {}) {
    return {ProbeStatus::Ok, std::move(reason), {}};
  }
  static ProbeOutcome failed(std::string reason) {
    return {ProbeStatus::Failed, std::move(reason), {}};
  }
  static ProbeOutcome error(std::string reason) {
    return {ProbeStatus::Error, std::move(reason), {}};
  }
  ProbeOutcome& observe(std::string name, double value) {
    observed.push_back({std::move(name), value});
    return *this;
  }
};

struct ProbeResult {
  std::string component;
  std::string check;
  std::string type;
  config::Layer layer = config::Layer::Service;
  bool informational = false;
  ProbeStatus status = ProbeStatus::Ok;
  std::string reason;
  std::vector<Observation> observed;
  Duration latency{};      // start of the run to its result
  SteadyTime scheduled{};  // when the run was due
  SteadyTime started{};    // when it actually started
  WallTime at{};           // wall time of the result

  bool ok() const { return status == ProbeStatus::Ok; }
  std::optional<double> value(std::string_view name) const;
};

}  // namespace hftguard::probes

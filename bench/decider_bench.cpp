// Decider throughput (results per second through Decider::observe) and the cost of one
// event write (write + fsync of one line) on the disk under a directory.
//
//   bench_decider [--results 2000000] [--events 2000] [--dir /var/tmp]

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "hftguard/config/loader.hpp"
#include "hftguard/decide/decider.hpp"
#include "hftguard/events/event_log.hpp"
#include "hftguard/events/from_decision.hpp"

using namespace hftguard;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  long results = 2'000'000, writes = 2000;
  std::string dir = "/var/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--results") results = std::stol(argv[i + 1]);
    if (a == "--events") writes = std::stol(argv[i + 1]);
    if (a == "--dir") dir = argv[i + 1];
  }
  // 100 components with 5 checks each, the example's triggers at their defaults.
  std::string yaml =
      "node: {name: bench}\nplans:\n  p: {steps: [{action: http_check, url: 'http://127.0.0.1:1/', "
      "expect: up}]}\ncomponents:\n";
  for (int c = 0; c < 100; ++c) {
    yaml += "  c" + std::to_string(c) +
            ":\n    tier: hot\n    rto_target: 30s\n    plan: p\n    checks:\n";
    for (int k = 0; k < 5; ++k) {
      yaml += "      k" + std::to_string(k) +
              ": {type: http, url: 'http://127.0.0.1:1/', interval: 1s}\n";
    }
  }
  auto cfg = config::loadConfigString(yaml, "bench.yaml").config;
  decide::Decider decider(*cfg);
  ManualClock clock;
  std::vector<probes::ProbeResult> inputs;
  for (int c = 0; c < 100; ++c) {
    for (int k = 0; k < 5; ++k) {
      probes::ProbeResult r;
      r.component = "c" + std::to_string(c);
      r.check = "k" + std::to_string(k);
      r.latency = 2ms;
      r.reason = "HTTP 200 in 2.0ms";
      r.observed = {{"latency_ms", 2.0}};
      inputs.push_back(r);
    }
  }
  std::size_t decisions = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < results; ++i) {
    probes::ProbeResult& r = inputs[static_cast<std::size_t>(i) % inputs.size()];
    // One failed sample in 50: counters, suspect/healthy transitions and events all move.
    r.status =
        ((i / 500) + (i % 500)) % 50 == 0 ? probes::ProbeStatus::Failed : probes::ProbeStatus::Ok;
    r.at = clock.wallNow();
    decisions += decider.observe(r, clock.now()).size();
    if (i % 500 == 0) clock.advance(1s);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("decider: %ld results in %.2fs = %.0f results/s (%.2f us each), %zu decisions\n",
              results, secs, results / secs, secs * 1e6 / results, decisions);

  const std::string path = dir + "/hftguard-bench-events-" + std::to_string(::getpid()) + ".json";
  {
    events::EventLog log({path, 10000, nullptr, nullptr});
    events::EventIds ids;
    decide::Decision d;
    d.kind = decide::Decision::Kind::FailoverTriggered;
    d.component = "c1";
    d.reason = "k0 failed 3 times in a row: HTTP 500 from http://127.0.0.1:1/ (expected 200)";
    d.rule = "fall";
    d.tier = decide::Tier::Component;
    for (int i = 0; i < 10; ++i)
      d.evidence.push_back({"k0",
                            probes::ProbeStatus::Failed,
                            2ms,
                            "HTTP 500",
                            {{"latency_ms", 2}},
                            clock.wallNow()});
    d.thresholds.push_back({"k0", "consecutive_failures", 3, 3, ""});
    const auto line = events::toJsonLine(events::fromDecision(d, "bench", "x"));
    const auto w0 = std::chrono::steady_clock::now();
    for (long i = 0; i < writes; ++i)
      log.append(events::fromDecision(d, "bench", ids.next(clock.wallNow())));
    log.flush(std::chrono::seconds(120));  // the writer thread batches: time to disk
    const double ws = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    std::printf(
        "event write: %ld events of %zu bytes on disk in %.2fs = %.1f us each (writer thread, "
        "group commit) in %s\n",
        writes, line.size(), ws, ws * 1e6 / writes, dir.c_str());
  }
  std::filesystem::remove(path);
  return 0;
}

// Probe-scale benchmark: N checks (half tcp, half http) against loopback targets at a 1s
// interval, for S seconds, on the daemon's own scheduler and probes. Prints the CPU share of
// one core, peak RSS and the schedule skew (start - due) p50/p99/max.
//
//   bench_probe_scale [--checks 1000] [--seconds 60] [--hung 10] [--targets 4]
//                     [--http-percent 50]
//
// Targets run in other processes (engine_sim), so their CPU is not counted; hung targets
// are a full-backlog listener (tcp) and an engine_sim in the "hang" fault (http).

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>

#include <sys/resource.h>

#include "probe_harness.hpp"
#include "servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

namespace {

double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long peakRssKb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

double ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  int checks = 1000, seconds = 60, hung = 10, targetCount = 4, httpPercent = 50;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const int v = std::stoi(argv[i + 1]);
    if (a == "--checks")
      checks = v;
    else if (a == "--seconds")
      seconds = v;
    else if (a == "--hung")
      hung = v;
    else if (a == "--targets")
      targetCount = v;
    else if (a == "--http-percent")
      httpPercent = v;
  }
  std::vector<std::unique_ptr<EngineSim>> targets;
  for (int i = 0; i < targetCount; ++i) targets.push_back(std::make_unique<EngineSim>("primary"));
  EngineSim hangs("primary");
  hangs.setFault("hang");
  FullBacklog stuck;

  std::string yaml;
  for (int i = 0; i < checks; ++i) {
    const bool http = (i * httpPercent) % 100 + httpPercent > 99;
    const bool isHung = i < hung;
    const int port =
        isHung ? (http ? hangs.port() : stuck.port()) : targets[i % targetCount]->port();
    yaml += "      c" + std::to_string(i) + ": {interval: 1s, timeout: 500ms, " +
            (http ? "type: http, url: 'http://127.0.0.1:" + std::to_string(port) + "/health'}\n"
                  : "type: tcp, host: 127.0.0.1, port: " + std::to_string(port) + "}\n");
  }
  ProbeHarness h(yaml);
  std::vector<Duration> skew;
  skew.reserve(static_cast<std::size_t>(checks) * (seconds + 1));
  std::map<probes::ProbeStatus, long> statuses;
  probes::Scheduler scheduler(
      h.env, *h.cfg,
      [&](const probes::ProbeResult& r) {
        skew.push_back(r.started - r.scheduled);
        ++statuses[r.status];
      },
      42);

  std::printf(
      "probe-scale: %d checks (%d%% http, the rest tcp), %d hung, 1s interval, %ds, %d targets\n",
      checks, httpPercent, hung, seconds, targetCount);
  scheduler.start();
  h.io.run_for(2s);  // warm-up: the first runs are spread over one interval
  skew.clear();
  statuses.clear();
  const double cpu0 = cpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  h.io.run_for(std::chrono::seconds(seconds));
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpuSeconds() - cpu0;
  scheduler.stop();

  std::sort(skew.begin(), skew.end());
  auto pct = [&](double p) {
    return skew.empty() ? 0.0 : ms(skew[static_cast<std::size_t>(p * (skew.size() - 1))]);
  };
  std::printf("results: %zu (ok %ld, failed %ld, timeout %ld, error %ld)\n", skew.size(),
              statuses[probes::ProbeStatus::Ok], statuses[probes::ProbeStatus::Failed],
              statuses[probes::ProbeStatus::Timeout], statuses[probes::ProbeStatus::Error]);
  std::printf("cpu: %.2f%% of one core (%.2fs cpu in %.1fs)\n", 100.0 * cpu / wall, cpu, wall);
  std::printf("peak rss: %.1f MiB\n", static_cast<double>(peakRssKb()) / 1024.0);
  std::printf("schedule skew: p50 %.3fms  p99 %.3fms  max %.3fms\n", pct(0.5), pct(0.99),
              skew.empty() ? 0.0 : ms(skew.back()));
  std::printf("scheduler: %llu runs, %llu skipped busy, %llu missed behind\n",
              static_cast<unsigned long long>(scheduler.stats().runs),
              static_cast<unsigned long long>(scheduler.stats().skipped_busy),
              static_cast<unsigned long long>(scheduler.stats().skipped_behind));
  hangs.setFault("none");
  return 0;
}

// Probe-scale benchmark: N checks (half tcp, half http) against loopback targets at one
// interval, for S seconds, on the daemon's own scheduler and probes, with HAProxy 2.6 health
// checking the same targets at the same interval in the same seconds (the anchor: what a
// mature checker costs). Optionally PostgreSQL checks, and the blocking Python loop of
// bench/python_monitor.py doing the same checks beside them. Prints each one's CPU share of
// one core and CPU per check, hftguard's peak RSS and schedule skew (start - due).
//
//   bench_probe_scale [--checks 1000] [--seconds 60] [--hung 10] [--targets 4]
//                     [--http-percent 50] [--interval-ms 1000] [--haproxy 1]
//                     [--pg-checks 0] [--pg-interval-ms 100] [--reconnect-every 60]
//                     [--python 0] [--runbook-mix 0]
//
// --runbook-mix N replaces the tcp/http list by N copies of the runbook monitor's own
// check mix against one engine_sim, one PostgreSQL and one Redis: process, port, HTTP
// health, database, Redis, trading-engine keys, market-data freshness, and the test order
// every tenth interval; with --python 1 the Python loop runs the runbook's checks with its
// libraries (python_monitor.py --runbook), its pgrep children's CPU included.
//
// Targets run in other processes (engine_sim, PostgreSQL), so their CPU is not counted;
// hung targets are a full-backlog listener (tcp) and an engine_sim in the "hang" fault
// (http). HAProxy runs one thread (`nbthread 1`), like hftguard's one loop.

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>

#include <sys/resource.h>
#include <unistd.h>

#include "../src/probes/procfs.hpp"
#include "probe_harness.hpp"
#include "servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

namespace {

struct Options {
  int checks = 1000, seconds = 60, hung = 10, targets = 4, httpPercent = 50, intervalMs = 1000;
  int haproxy = 1, pgChecks = 0, pgIntervalMs = 100, reconnectEvery = 60, python = 0;
  int runbookMix = 0;
};

Options parse(int argc, char** argv) {
  Options o;
  const std::map<std::string, int*> flags = {{"--checks", &o.checks},
                                             {"--seconds", &o.seconds},
                                             {"--hung", &o.hung},
                                             {"--targets", &o.targets},
                                             {"--http-percent", &o.httpPercent},
                                             {"--interval-ms", &o.intervalMs},
                                             {"--haproxy", &o.haproxy},
                                             {"--pg-checks", &o.pgChecks},
                                             {"--pg-interval-ms", &o.pgIntervalMs},
                                             {"--reconnect-every", &o.reconnectEvery},
                                             {"--python", &o.python},
                                             {"--runbook-mix", &o.runbookMix}};
  for (int i = 1; i + 1 < argc; i += 2) {
    auto it = flags.find(argv[i]);
    if (it == flags.end()) throw std::runtime_error(std::string("unknown flag ") + argv[i]);
    *it->second = std::stoi(argv[i + 1]);
  }
  return o;
}

// One planned check: the same list drives hftguard, HAProxy and Python.
struct Planned {
  std::string kind;  // tcp, http, postgres; the runbook mix adds process, redis, trading,
                     // market, e2e
  int port;
  int interval_ms;
};

// The runbook monitor's checks, `copies` times, against one engine, PostgreSQL and Redis.
std::vector<Planned> runbookMix(int copies, int intervalMs, int engine, int pg, int redis) {
  std::vector<Planned> plan;
  for (int i = 0; i < copies; ++i) {
    plan.push_back({"process", 0, intervalMs});
    plan.push_back({"tcp", engine, intervalMs});
    plan.push_back({"http", engine, intervalMs});
    plan.push_back({"postgres", pg, intervalMs});
    plan.push_back({"redis", redis, intervalMs});
    plan.push_back({"trading", redis, intervalMs});
    plan.push_back({"market", redis, intervalMs});
    plan.push_back({"e2e", engine, intervalMs * 10});
  }
  return plan;
}

double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Another process's CPU so far (user + system, from /proc/PID/stat).
// User + system CPU of a process and of the children it has waited for (the Python loop's
// pgrep subprocesses), from /proc/PID/stat fields 14-17.
double cpuSecondsOf(pid_t pid) {
  auto st = probes::procfs::processStat("/proc", pid);
  if (!st) return 0.0;
  return static_cast<double>(st->cpu_ticks + st->children_cpu_ticks) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

long peakRssKb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

double ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string hftguardYaml(const std::vector<Planned>& plan, const std::string& pgUser,
                         int reconnectEvery) {
  std::string yaml;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const Planned& p = plan[i];
    const std::string port = std::to_string(p.port);
    const int timeout = std::min(500, p.interval_ms);
    yaml += "      c" + std::to_string(i) + ": {interval: " + std::to_string(p.interval_ms) +
            "ms, timeout: " + std::to_string(timeout) + "ms, ";
    const std::string redis = "host: 127.0.0.1, port: " + port;
    if (p.kind == "http") {
      yaml += "type: http, url: 'http://127.0.0.1:" + port + "/health'}\n";
    } else if (p.kind == "tcp") {
      yaml += "type: tcp, host: 127.0.0.1, port: " + port + "}\n";
    } else if (p.kind == "process") {
      yaml += "type: process, executable: engine_sim}\n";
    } else if (p.kind == "redis") {
      yaml += "type: redis, " + redis + "}\n";
    } else if (p.kind == "trading") {
      yaml += "type: redis_key, " + redis + ", key: 'trading:enabled', condition: equals, " +
              "expect: 'true'}\n";
    } else if (p.kind == "market") {
      yaml += "type: redis_key, " + redis + ", key: last_market_update, condition: fresh, " +
              "max_age: 5s}\n";
    } else if (p.kind == "e2e") {
      yaml += "type: e2e_order, url: 'http://127.0.0.1:" + port + "/api/orders/test'}\n";
    } else {
      yaml += "type: postgres, host: 127.0.0.1, port: " + port + ", user: " + pgUser +
              ", max_latency: 1s, reconnect_every: " + std::to_string(reconnectEvery) + "}\n";
    }
  }
  return yaml;
}

// HAProxy checks the same tcp and http targets: `check` (a connect) and `option httpchk`.
std::string haproxyConfig(const std::vector<Planned>& plan, int frontendPort) {
  std::string tcp = "backend tcp_checks\n  mode tcp\n";
  std::string http =
      "backend http_checks\n  option httpchk GET /health\n  http-check expect status 200\n";
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const Planned& p = plan[i];
    const std::string line = "  server c" + std::to_string(i) +
                             " 127.0.0.1:" + std::to_string(p.port) + " check inter " +
                             std::to_string(p.interval_ms) + "\n";
    if (p.kind == "tcp") tcp += line;
    if (p.kind == "http") http += line;
  }
  return "global\n  nbthread 1\ndefaults\n  mode http\n  timeout connect 500ms\n"
         "  timeout client 5s\n  timeout server 5s\n  timeout check 500ms\n"
         "frontend fe\n  bind 127.0.0.1:" +
         std::to_string(frontendPort) + "\n  default_backend http_checks\n" + tcp + http;
}

// A checker beside hftguard, its CPU sampled over the same window.
struct Beside {
  std::string name;
  ChildProcess process;
  std::string log;
  double cpu0 = 0, cpu = 0;
};

void report(const char* name, double cpu, double wall, double checksPerSecond) {
  std::printf("%-9s cpu %6.2f%% of one core, %7.1f checks/s, %6.1f us cpu per check\n", name,
              100.0 * cpu / wall, checksPerSecond,
              checksPerSecond > 0 ? 1e6 * cpu / wall / checksPerSecond : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  std::vector<std::unique_ptr<EngineSim>> targets;
  for (int i = 0; i < std::max(1, o.targets); ++i) {
    targets.push_back(std::make_unique<EngineSim>("primary"));
  }
  EngineSim hangs("primary");
  hangs.setFault("hang");
  FullBacklog stuck;
  std::unique_ptr<PostgresPair> pg;
  if (o.pgChecks > 0 || o.runbookMix > 0) pg = std::make_unique<PostgresPair>();
  std::unique_ptr<RedisServer> redis;
  std::unique_ptr<EngineSim> engine;  // the runbook mix's engine, writing its Redis keys
  if (o.runbookMix > 0) {
    redis = std::make_unique<RedisServer>();
    engine = std::make_unique<EngineSim>("primary", redis->port());
  }

  std::vector<Planned> plan;
  for (int i = 0; i < o.checks; ++i) {
    const bool http = (i * o.httpPercent) % 100 + o.httpPercent > 99;
    const bool isHung = i < o.hung;
    const int port =
        isHung ? (http ? hangs.port() : stuck.port()) : targets[i % targets.size()]->port();
    plan.push_back({http ? "http" : "tcp", port, o.intervalMs});
  }
  for (int i = 0; i < o.pgChecks; ++i)
    plan.push_back({"postgres", pg->primaryPort(), o.pgIntervalMs});
  if (o.runbookMix > 0) {
    plan = runbookMix(o.runbookMix, o.intervalMs, engine->port(), pg->primaryPort(),
                      redis->port());
  }

  ProbeHarness h(hftguardYaml(plan, pg ? pg->user() : "postgres", o.reconnectEvery));
  std::vector<Duration> skew;
  std::map<probes::ProbeStatus, long> statuses;
  probes::Scheduler scheduler(
      h.env, *h.cfg,
      [&](const probes::ProbeResult& r) {
        skew.push_back(r.started - r.scheduled);
        ++statuses[r.status];
      },
      42);

  TempDir dir("hftguard-bench");
  std::vector<Beside> beside;
  if (o.haproxy != 0 && o.checks > 0 && o.runbookMix == 0) {
    const std::string cfg = dir.path() + "/haproxy.cfg";
    std::ofstream(cfg) << haproxyConfig(plan, freePort());
    const std::string log = dir.path() + "/haproxy.log";
    beside.push_back(
        {"haproxy", ChildProcess({"/usr/sbin/haproxy", "-db", "-f", cfg}, {.log_file = log}), log});
  }
  if (o.python != 0) {
    const std::string list = dir.path() + "/checks.txt";
    std::ofstream out(list);
    for (const Planned& p : plan) {
      out << p.kind << " "
          << (p.kind == "process" ? std::string("engine_sim") : std::to_string(p.port)) << "\n";
    }
    out.close();
    const int interval = o.checks > 0 || o.runbookMix > 0 ? o.intervalMs : o.pgIntervalMs;
    std::vector<std::string> command = {
        "/usr/bin/python3", std::string(HFTGUARD_BENCH_DIR) + "/python_monitor.py",
        "--checks-file", list, "--interval-ms", std::to_string(interval), "--seconds",
        std::to_string(o.seconds + 3), "--pg-user", pg ? pg->user() : "postgres"};
    if (o.runbookMix > 0) command.push_back("--runbook");
    const std::string log = dir.path() + "/python.log";
    beside.push_back({"python", ChildProcess(command, {.log_file = log}), log});
  }

  if (o.runbookMix > 0) {
    std::printf("probe-scale: the runbook monitor's mix x%d (%zu checks) every %dms, %ds\n",
                o.runbookMix, plan.size(), o.intervalMs, o.seconds);
  } else {
    std::printf(
      "probe-scale: %d checks (%d%% http, the rest tcp) every %dms, %d hung, "
      "%d postgres every %dms (reconnect_every %d), %ds, %d targets\n",
      o.checks, o.httpPercent, o.intervalMs, o.hung, o.pgChecks, o.pgIntervalMs, o.reconnectEvery,
      o.seconds, o.targets);
  }
  scheduler.start();
  h.io.run_for(2s);  // warm-up: the first runs are spread over one interval
  skew.clear();
  statuses.clear();
  for (Beside& b : beside) b.cpu0 = cpuSecondsOf(b.process.pid());
  const double cpu0 = cpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  h.io.run_for(std::chrono::seconds(o.seconds));
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpuSeconds() - cpu0;
  for (Beside& b : beside) b.cpu = cpuSecondsOf(b.process.pid()) - b.cpu0;
  scheduler.stop();

  std::sort(skew.begin(), skew.end());
  auto pct = [&](double p) {
    return skew.empty() ? 0.0 : ms(skew[static_cast<std::size_t>(p * (skew.size() - 1))]);
  };
  std::printf("results: %zu (ok %ld, failed %ld, timeout %ld, error %ld)\n", skew.size(),
              statuses[probes::ProbeStatus::Ok], statuses[probes::ProbeStatus::Failed],
              statuses[probes::ProbeStatus::Timeout], statuses[probes::ProbeStatus::Error]);
  const double rate = static_cast<double>(skew.size()) / wall;
  report("hftguard", cpu, wall, rate);
  std::printf("peak rss: %.1f MiB\n", static_cast<double>(peakRssKb()) / 1024.0);
  std::printf("schedule skew: p50 %.3fms  p99 %.3fms  max %.3fms\n", pct(0.5), pct(0.99),
              skew.empty() ? 0.0 : ms(skew.back()));
  std::printf("scheduler: %llu runs, %llu waited busy, %llu skipped busy, %llu missed behind\n",
              static_cast<unsigned long long>(scheduler.stats().runs),
              static_cast<unsigned long long>(scheduler.stats().waited_busy),
              static_cast<unsigned long long>(scheduler.stats().skipped_busy),
              static_cast<unsigned long long>(scheduler.stats().skipped_behind));
  for (Beside& b : beside) {
    double checksPerSecond = 0;
    if (b.name == "haproxy") {
      checksPerSecond = 1000.0 * o.checks / o.intervalMs;  // as configured
      b.process.stop();
    } else {
      b.process.waitExit(std::chrono::milliseconds(15000));
      b.process.stop();
      const std::string out = readFile(b.log);  // {"checks": N, ..., "wall_s": W}
      const auto num = [&](const std::string& key) {
        const auto at = out.find("\"" + key + "\": ");
        return at == std::string::npos ? 0.0 : std::stod(out.substr(at + key.size() + 4));
      };
      if (num("wall_s") > 0) checksPerSecond = num("checks") / num("wall_s");
      std::printf("python: %s", out.c_str());
    }
    report(b.name.c_str(), b.cpu, wall, checksPerSecond);
    if (b.cpu > 0 && b.name == "haproxy") {
      std::printf("ratio hftguard/haproxy (cpu, same checks): %.2f  (goal <= 1.0)\n", cpu / b.cpu);
    }
    if (b.cpu > 0 && b.name == "python" && checksPerSecond > 0 && rate > 0) {
      std::printf("ratio python/hftguard (cpu per check): %.1f  (goal >= 10)\n",
                  (b.cpu / checksPerSecond) / (cpu / rate));
    }
  }
  hangs.setFault("none");
  return 0;
}

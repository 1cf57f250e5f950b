// The host probe's CPU figures on a fake /proc and a simulated clock, fed to the decider with
// the default cpu trigger (95% for 5 minutes): an engine busy-polling one pinned core of the
// CPUs it may use does not trip it; one whose every allowed core is polled reads 100%.

#include <filesystem>
#include <fstream>

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "hftguard/config/loader.hpp"
#include "hftguard/decide/decider.hpp"
#include "hftguard/net/http_client.hpp"
#include "hftguard/net/worker_pool.hpp"
#include "hftguard/probes/probe.hpp"

namespace fs = std::filesystem;
using namespace hftguard;
using namespace std::chrono_literals;

namespace {

// A host of four CPUs running "engine" (pid 42): its main thread may run on `main_cpus`, its
// poller thread (43) is pinned to `poller_cpus` and spins there, using one core all the time.
class BusyPollHost {
 public:
  BusyPollHost(const std::string& main_cpus, const std::string& poller_cpus)
      : root_(fs::temp_directory_path() / ("hftguard-hostprobe-" + std::to_string(::getpid()))) {
    fs::create_directories(root_ / "42/task/42");
    fs::create_directories(root_ / "42/task/43");
    write("meminfo", "MemTotal: 1000000 kB\nMemAvailable: 600000 kB\n");
    write("42/comm", "engine\n");
    write("42/task/42/status", "Name:\tengine\nCpus_allowed_list:\t" + main_cpus + "\n");
    write("42/task/43/status", "Name:\tpoller\nCpus_allowed_list:\t" + poller_cpus + "\n");
    write("42/status", "Name:\tengine\nCpus_allowed_list:\t" + main_cpus + "\n");
  }
  ~BusyPollHost() { fs::remove_all(root_); }

  // Ten more seconds: the poller spent a whole core's; the other three CPUs idled.
  void tenSeconds() {
    const std::uint64_t tick = 10 * static_cast<std::uint64_t>(sysconf(_SC_CLK_TCK));
    busy_ += tick;
    idle_ += 3 * tick;
    write("stat", fmt::format("cpu  {} 0 0 {} 0 0 0 0 0 0\n", busy_, idle_));
    write("42/stat", fmt::format("42 (engine) R 1 42 42 0 -1 0 0 0 0 0 {} 0 0 0 20 0 2 0 1 "
                                 "1000 100\n",
                                 busy_));
  }
  std::string root() const { return root_.string(); }

 private:
  void write(const std::string& rel, const std::string& text) {
    std::ofstream(root_ / rel, std::ios::binary) << text;
  }
  fs::path root_;
  std::uint64_t busy_ = 0, idle_ = 0;
};

struct Outcome {
  double process_cpu = -1;
  std::size_t failovers = 0;
  decide::Health health = decide::Health::Unknown;
};

// Ten minutes of one host check every 10 s with the default triggers.
Outcome tenMinutes(BusyPollHost& host) {
  auto loaded = config::loadConfigString(
      "node: {name: n1}\n"
      "plans:\n  p: {steps: [{action: http_check, url: 'http://127.0.0.1:1/', expect: up}]}\n"
      "components:\n  e:\n    tier: hot\n    rto_target: 30s\n    plan: p\n"
      "    checks:\n      host: {type: host, process: engine, interval: 10s}\n",
      "host.yaml");
  for (const auto& e : loaded.errors) ADD_FAILURE() << e.format();
  const auto cfg = loaded.config;
  boost::asio::io_context io;
  net::HttpClient http(io);
  net::WorkerPool workers(io, 1);
  ManualClock clock;
  probes::ProbeEnv env{io, http, workers, clock, "n1", host.root()};
  const config::CheckConfig& check = *cfg->findComponent("e")->findCheck("host");
  auto probe = probes::makeProbe(check, env);
  decide::Decider decider(*cfg);
  Outcome out;
  for (int s = 0; s <= 60; ++s) {
    host.tenSeconds();
    probes::ProbeResult r;
    r.component = "e";
    r.check = "host";
    probe->start([&](probes::ProbeOutcome o) {
      r.status = o.status;
      r.reason = o.reason;
      r.observed = o.observed;
    });
    r.at = clock.wallNow();
    out.process_cpu = r.value("process_cpu_ratio").value_or(out.process_cpu);
    for (const auto& d : decider.observe(r, clock.now())) {
      out.failovers += d.kind == decide::Decision::Kind::FailoverTriggered ? 1 : 0;
    }
    clock.advance(10s);
  }
  out.health = decider.health("e");
  return out;
}

TEST(HostProbeCpu, ABusyPollingEngineDoesNotTripTheDefaultTrigger) {
  BusyPollHost host("0-3", "2");  // may use all four CPUs; one thread spins on CPU 2
  const Outcome o = tenMinutes(host);
  EXPECT_NEAR(o.process_cpu, 0.25, 0.01);  // one core of the four it may use
  EXPECT_EQ(o.failovers, 0u);
  EXPECT_EQ(o.health, decide::Health::Healthy);
}

TEST(HostProbeCpu, AnEngineConfinedToItsPolledCoreReadsFull) {
  // Its threads may run on CPU 2 only, and one spins there: it has no CPU left, which is
  // what the figure says; such an engine turns the cpu trigger off (docs/config.md).
  BusyPollHost host("2", "2");
  const Outcome o = tenMinutes(host);
  EXPECT_NEAR(o.process_cpu, 1.0, 0.01);
  EXPECT_EQ(o.failovers, 1u);
}

}  // namespace

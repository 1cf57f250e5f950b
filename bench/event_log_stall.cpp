// The event log on a disk that stalls: timers standing in for probes run on the loop, each
// run recording an event, while the disk takes no write for --stall seconds (an injected
// hook in the writer thread's write()). Prints the loop's skew (due moment to run) before,
// during and after the stall, how long a step waiting for durability waited, and whether
// every event reached the file. --inline writes on the loop instead (write + fsync per
// event, as before the writer thread) for comparison.
//
//   bench_event_log_stall [--timers 100] [--interval-ms 100] [--seconds 9] [--stall 5]
//                         [--stall-at 2] [--dir /var/tmp] [--inline]

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fcntl.h>
#include <unistd.h>

#include "hftguard/events/event_log.hpp"

using namespace hftguard;
using Steady = std::chrono::steady_clock;

namespace {

struct Args {
  int timers = 100;
  int interval_ms = 100;
  double seconds = 9;
  double stall = 5;
  double stall_at = 2;
  std::string dir = "/var/tmp";
  bool inline_writes = false;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (k == "--timers") a.timers = std::stoi(next());
    if (k == "--interval-ms") a.interval_ms = std::stoi(next());
    if (k == "--seconds") a.seconds = std::stod(next());
    if (k == "--stall") a.stall = std::stod(next());
    if (k == "--stall-at") a.stall_at = std::stod(next());
    if (k == "--dir") a.dir = next();
    if (k == "--inline") a.inline_writes = true;
  }
  return a;
}

double ms(Steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void report(const char* phase, std::vector<double> skews) {
  if (skews.empty()) return;
  std::sort(skews.begin(), skews.end());
  auto pct = [&](double p) { return skews[static_cast<std::size_t>(p * (skews.size() - 1))]; };
  std::printf("%-14s %7zu runs  skew p50 %8.3f ms  p99 %8.3f ms  max %9.3f ms\n", phase,
              skews.size(), pct(0.5), pct(0.99), skews.back());
}

events::Event sample(int n) {
  events::Event e;
  e.at = std::chrono::system_clock::now();
  e.id = std::to_string(n);
  e.node = "bench";
  e.component = "c" + std::to_string(n % 100);
  e.type = "check_failed";
  e.reason = "k0 failed: HTTP 500 from http://127.0.0.1:1/health (expected 200)";
  e.fields["n"] = n;
  e.fields["evidence"] = nlohmann::json::array();
  for (int i = 0; i < 5; ++i)
    e.fields["evidence"].push_back({{"check", "k0"}, {"status", "failed"}, {"latency_ms", 2}});
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  const std::string path = a.dir + "/hftguard-bench-stall-" + std::to_string(::getpid()) + ".json";
  boost::asio::io_context io;
  const auto t0 = Steady::now();
  const auto stall_from =
      t0 + std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(a.stall_at));
  const auto stall_to = stall_from + std::chrono::duration_cast<Steady::duration>(
                                         std::chrono::duration<double>(a.stall));
  // The injected stall: a write that starts inside the window returns when it ends.
  auto stalled_write = [stall_from, stall_to](int fd, const void* d, std::size_t n) {
    const auto now = Steady::now();
    if (now >= stall_from && now < stall_to) std::this_thread::sleep_until(stall_to);
    return ::write(fd, d, n);
  };
  events::EventLog::Options o{path, 100000, stalled_write, nullptr};
  o.io = &io;
  events::EventLog log(o);
  const int inline_fd = ::open((path + ".inline").c_str(), O_WRONLY | O_APPEND | O_CREAT, 0640);

  std::vector<double> before, during, after;
  std::vector<double> step_waits;
  int recorded = 0;
  const auto interval = std::chrono::milliseconds(a.interval_ms);
  const auto end =
      t0 + std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(a.seconds));
  std::vector<std::unique_ptr<boost::asio::steady_timer>> timers;
  std::function<void(std::size_t, Steady::time_point)> arm = [&](std::size_t i,
                                                                Steady::time_point due) {
    timers[i]->expires_at(due);
    timers[i]->async_wait([&, i, due](boost::system::error_code ec) {
      if (ec) return;
      const auto now = Steady::now();
      const double skew = ms(now - due);
      (due < stall_from ? before : due < stall_to ? during : after).push_back(skew);
      const events::Event e = sample(recorded++);
      if (a.inline_writes) {
        const std::string line = events::toJsonLine(e);
        (void)!stalled_write(inline_fd, line.data(), line.size());
        ::fsync(inline_fd);
      } else {
        const auto seq = log.append(e);
        if (i == 0) {  // one "step" a round waits for its event, as the runner does
          log.whenDurable(
              seq, [&step_waits, now](bool) { step_waits.push_back(ms(Steady::now() - now)); });
        }
      }
      if (due + interval < end) arm(i, due + interval);
    });
  };
  for (int i = 0; i < a.timers; ++i) {
    timers.push_back(std::make_unique<boost::asio::steady_timer>(io));
    arm(static_cast<std::size_t>(i), t0 + interval * i / a.timers + interval);
  }
  io.run();
  const auto drain0 = Steady::now();
  const bool drained = a.inline_writes || log.flush(std::chrono::seconds(30));
  const double drain_ms = ms(Steady::now() - drain0);

  std::printf("%s: %d timers every %d ms, %.1f s, disk stalled %.1f s from %.1f s\n",
              a.inline_writes ? "inline write+fsync on the loop" : "writer thread", a.timers,
              a.interval_ms, a.seconds, a.stall, a.stall_at);
  report("before stall", before);
  report("during stall", during);
  report("after stall", after);
  if (!step_waits.empty()) {
    std::sort(step_waits.begin(), step_waits.end());
    std::printf("step waits for durability: p50 %.3f ms, max %.3f ms (bound 1000 ms)\n",
                step_waits[step_waits.size() / 2], step_waits.back());
  }
  std::size_t lines = 0;
  std::ifstream in(a.inline_writes ? path + ".inline" : path);
  for (std::string l; std::getline(in, l);) ++lines;
  std::printf("events recorded %d, in the file %zu%s (backlog written %.0f ms after the run)\n",
              recorded, lines, drained ? "" : " (NOT all written)", drain_ms);
  ::close(inline_fd);
  std::filesystem::remove(path);
  std::filesystem::remove(path + ".inline");
  return drained && static_cast<int>(lines) == recorded ? 0 : 1;
}

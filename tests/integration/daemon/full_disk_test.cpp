// A full disk under the event log (a small tmpfs in a private mount namespace): the daemon
// still fails over, keeps every event in memory, says the log is degraded, and writes them
// all, in order, once space is freed.

#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "hftguard/events/event.hpp"

#include "process.hpp"
#include "servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

#ifndef HFTGUARD_BINARY
#error "HFTGUARD_BINARY must name the hftguard binary"
#endif

namespace {

std::vector<events::Event> readEvents(const std::string& path) {
  std::ifstream in(path);
  std::vector<events::Event> out;
  for (std::string line; std::getline(in, line);) {
    auto e = events::parseEventLine(line);
    EXPECT_TRUE(e) << "torn or malformed line: " << line;
    if (e) out.push_back(*e);
  }
  return out;
}

std::ptrdiff_t indexOf(const std::vector<events::Event>& all, const std::string& type) {
  auto it = std::find_if(all.begin(), all.end(), [&](const auto& e) { return e.type == type; });
  return it == all.end() ? -1 : it - all.begin();
}

std::string mountNamespace(pid_t pid) {
  std::error_code ec;
  return std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/ns/mnt", ec).string();
}

// Fills the file system under `path` until it is full; the number of bytes written.
std::size_t fill(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  const std::string chunk(4096, 'x');
  std::size_t total = 0;
  for (int i = 0; i < 100000; ++i) {  // bounded: far more than the tmpfs holds
    const ssize_t n = ::write(fd, chunk.data(), chunk.size());
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return total;
}

TEST(FullDisk, FailoverCompletesAndEveryEventIsWrittenInOrderOnceSpaceIsFreed) {
  EngineSim engine("primary");
  TempDir dir;
  const std::string disk = dir.path() + "/disk";
  std::filesystem::create_directories(disk);
  // A process holding a private mount namespace; the tmpfs exists only inside it.
  ChildProcess holder(
      {"/usr/bin/unshare", "--mount", "--propagation", "private", "/usr/bin/sleep", "300"},
      {.log_file = dir.path() + "/unshare.log"});
  const std::string ours = mountNamespace(::getpid());
  if (!waitUntil([&] { return !holder.running() || mountNamespace(holder.pid()) != ours; }, 5s) ||
      !holder.running()) {
    GTEST_SKIP() << "unshare --mount is not permitted here: "
                 << readFile(dir.path() + "/unshare.log");
  }
  const std::string ns = std::to_string(holder.pid());
  if (runCommand({"/usr/bin/nsenter", "--target", ns, "--mount", "/usr/bin/mount", "-t", "tmpfs",
                  "-o", "size=256k", "tmpfs", disk},
                 {.log_file = dir.path() + "/mount.log"}) != 0) {
    GTEST_SKIP() << "mount -t tmpfs is not permitted here: " << readFile(dir.path() + "/mount.log");
  }
  const std::string inside = "/proc/" + ns + "/root";  // the namespace's view, from here
  const std::string events = disk + "/failover_events.json";
  const std::string url = engine.url("/health");
  const std::string config = dir.path() + "/hftguard.yaml";
  std::ofstream(config) << "node: {name: it-node}\nlogging: {level: info}\n"
                        << "event_log: {path: " << events << "}\n"
                        << "maintenance: {path: " << dir.path() << "/maintenance.json}\n"
                        << "control_api: {listen: 'off', socket: " << dir.path() << "/control.sock}\n"
                        << "plans:\n  p: {steps: [{name: a, action: http_check, url: '" << url
                        << "', expect: down}, {name: b, action: http_check, url: '" << url
                        << "', expect: down}]}\n"
                        << "components:\n  engine:\n    tier: hot\n    rto_target: 30s\n"
                        << "    plan: p\n    checks:\n      health: {type: http, url: '" << url
                        << "', interval: 100ms, timeout: 100ms}\n";
  const std::string runLog = dir.path() + "/run.log";
  ChildProcess daemon({"/usr/bin/nsenter", "--target", ns, "--mount", "--", HFTGUARD_BINARY, "run",
                       "--config", config},
                      {.log_file = runLog});
  ASSERT_TRUE(
      waitUntil([&] { return indexOf(readEvents(inside + events), "state_changed") >= 0; }, 10s))
      << readFile(runLog);

  ASSERT_GT(fill(inside + disk + "/filler"), 0u);
  engine.setFault("http500");
  // The failover runs to its end with the disk full: the daemon's own log says so.
  ASSERT_TRUE(
      waitUntil([&] { return readFile(runLog).find("p completed in") != std::string::npos; }, 20s))
      << readFile(runLog);
  EXPECT_NE(readFile(runLog).find("No space left on device"), std::string::npos);
  EXPECT_TRUE(daemon.running());

  std::filesystem::remove(inside + disk + "/filler");
  ASSERT_TRUE(waitUntil(
      [&] { return indexOf(readEvents(inside + events), "event_log_recovered") >= 0; }, 10s))
      << readFile(runLog);
  const auto all = readEvents(inside + events);
  daemon.stop();
  holder.stop();

  const auto triggered = indexOf(all, "failover_triggered");
  const auto started = indexOf(all, "failover_started");
  const auto completed = indexOf(all, "failover_completed");
  const auto degraded = indexOf(all, "event_log_degraded");
  const auto recovered = indexOf(all, "event_log_recovered");
  ASSERT_GE(triggered, 0);
  ASSERT_GE(degraded, 0);
  EXPECT_LT(triggered, started);
  EXPECT_LT(started, completed);
  EXPECT_LT(completed, recovered);
  EXPECT_LT(degraded, recovered);
  EXPECT_EQ(
      std::count_if(all.begin(), all.end(), [](const auto& e) { return e.type == "step_done"; }),
      2);
  EXPECT_TRUE(all[static_cast<std::size_t>(completed)].fields.value("written_late", false));
  EXPECT_EQ(all[static_cast<std::size_t>(degraded)].fields.value("error", ""),
            "No space left on device");
  for (std::size_t i = 1; i < all.size(); ++i) {  // in order, nothing twice
    EXPECT_LE(all[i - 1].at, all[i].at) << all[i].type;
    EXPECT_NE(all[i - 1].id, all[i].id);
  }
}

}  // namespace

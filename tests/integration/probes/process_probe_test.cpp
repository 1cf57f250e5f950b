// The process check against the traps a new user falls into with the engine dead: a
// `tail -f` of the engine's log (pgrep -f's substring trap) and `exec -a NAME` (argv[0] is
// whatever the process says). Each trap runs for real, bounded, and is stopped by PID.

#include <filesystem>
#include <fstream>
#include <optional>

#include <gtest/gtest.h>
#include <unistd.h>

#include "../../support/probe_harness.hpp"
#include "../../support/servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using probes::ProbeStatus;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// A name no other process on this shared machine carries.
std::string uniqueName(const std::string& stem) { return stem + "-" + std::to_string(::getpid()); }

std::string cmdlineOf(pid_t pid) {
  std::string raw = readFile("/proc/" + std::to_string(pid) + "/cmdline");
  for (char& c : raw) {
    if (c == '\0') c = ' ';
  }
  return raw;
}

// Waits (bounded) until the child has exec'd: its command line starts with `prefix`.
void awaitExec(pid_t pid, const std::string& prefix) {
  ASSERT_TRUE(waitUntil([&] { return cmdlineOf(pid).starts_with(prefix); }, 5s))
      << "pid " << pid << " did not exec " << prefix << ": " << cmdlineOf(pid);
}

std::string processCheck(const std::string& name, const std::string& how) {
  return "      " + name + ":\n        type: process\n        " + how + "\n";
}

TEST(ProcessTraps, ATailOfTheEnginesLogIsNotTheEngine) {
  TempDir dir;
  const std::string engine = uniqueName("hftg-trap-engine");
  const std::string log = dir.path() + "/" + engine + ".log";
  std::ofstream(log) << "engine log\n";
  ChildProcess tail({"/usr/bin/tail", "-f", log});
  awaitExec(tail.pid(), "/usr/bin/tail");
  ASSERT_NE(cmdlineOf(tail.pid()).find(engine), std::string::npos);  // the trap is set

  ProbeHarness h(processCheck("cmd", "cmdline: [" + engine + "]") +
                 processCheck("exe", "executable: " + engine));
  auto cmd = h.run("cmd");
  EXPECT_EQ(cmd.status, ProbeStatus::Failed) << cmd.reason;
  EXPECT_EQ(cmd.value("count"), 0.0);
  auto exe = h.run("exe");
  EXPECT_EQ(exe.status, ProbeStatus::Failed) << exe.reason;
  tail.stop();
}

TEST(ProcessTraps, ExecDashANameIsNotTheExecutable) {
  const std::string engine = uniqueName("hftg-fake-engine");
  ChildProcess fake({"/usr/bin/bash", "-c", "exec -a " + engine + " /usr/bin/sleep 30"});
  awaitExec(fake.pid(), engine);

  ProbeHarness h(processCheck("exe", "executable: " + engine) +
                 processCheck("cmd", "cmdline: [" + engine + ", '30']"));
  auto exe = h.run("exe");
  EXPECT_EQ(exe.status, ProbeStatus::Failed) << exe.reason;
  EXPECT_EQ(exe.value("count"), 0.0);
  // The command line is what the process says about itself: documented, and why
  // `executable` is the form to prefer.
  EXPECT_EQ(h.run("cmd").status, ProbeStatus::Ok);
  fake.stop();
}

TEST(ProcessTraps, TheRealExecutableCountsEvenAfterAnUpgradeReplacedIt) {
  TempDir dir;
  const std::string name = uniqueName("hftg-engine");
  const std::string path = dir.path() + "/" + name;
  fs::copy_file("/usr/bin/sleep", path);
  fs::permissions(path, fs::perms::owner_all);
  ChildProcess engine({path, "30"});
  awaitExec(engine.pid(), path);

  ProbeHarness h(processCheck("name", "executable: " + name) +
                 processCheck("path", "executable: " + path) +
                 processCheck("cmd", "cmdline: [" + name + ", '30']"));
  auto byName = h.run("name");
  EXPECT_EQ(byName.status, ProbeStatus::Ok) << byName.reason;
  EXPECT_EQ(byName.value("count"), 1.0);
  EXPECT_EQ(byName.value("pid"), static_cast<double>(engine.pid()));
  EXPECT_EQ(h.run("path").status, ProbeStatus::Ok);
  EXPECT_EQ(h.run("cmd").status, ProbeStatus::Ok);

  fs::remove(path);  // an upgrade replaced the binary: /proc/PID/exe reads "... (deleted)"
  auto replaced = h.run("name");
  EXPECT_EQ(replaced.status, ProbeStatus::Ok) << replaced.reason;
  EXPECT_NE(replaced.reason.find("replaced on disk"), std::string::npos) << replaced.reason;
  EXPECT_EQ(h.run("path").status, ProbeStatus::Ok);

  engine.stop();
  auto gone = h.run("name");
  EXPECT_EQ(gone.status, ProbeStatus::Failed) << gone.reason;
}

}  // namespace

// Runs after a healthy scan re-read only the processes it found; /proc is scanned again
// every 10 runs and at once when one of them is gone. A second copy is counted within 10
// runs; the first copy's death never fails the check while another copy runs, and the last
// copy's death fails the very next run.
TEST(ProcessProbe, KnownProcessesAreReReadAndTheHostRescanned) {
  TempDir dir;
  const std::string file = dir.path() + "/" + uniqueName("hftg-rescan") + ".log";
  std::ofstream(file) << "x\n";
  ChildProcess first({"/usr/bin/tail", "-f", file});
  awaitExec(first.pid(), "/usr/bin/tail");
  ProbeHarness h(processCheck("cmd", "cmdline: [/usr/bin/tail, -f, '" + file + "']"));
  auto one = h.run("cmd");
  ASSERT_EQ(one.status, ProbeStatus::Ok) << one.reason;
  EXPECT_EQ(one.value("count"), 1.0);

  ChildProcess second({"/usr/bin/tail", "-f", file});
  awaitExec(second.pid(), "/usr/bin/tail");
  int runs = 0;
  std::optional<double> count;
  while (runs < 10 && count != 2.0) {
    count = h.run("cmd").value("count");
    ++runs;
  }
  EXPECT_EQ(count, 2.0) << "a second copy was not counted within 10 runs";

  first.stop();
  auto after_first = h.run("cmd");
  EXPECT_EQ(after_first.status, ProbeStatus::Ok) << after_first.reason;
  EXPECT_EQ(after_first.value("count"), 1.0);
  EXPECT_EQ(after_first.value("pid"), static_cast<double>(second.pid()));
  second.stop();
  auto none = h.run("cmd");
  EXPECT_EQ(none.status, ProbeStatus::Failed) << none.reason;
}

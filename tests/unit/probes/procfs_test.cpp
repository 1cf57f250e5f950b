// The /proc readers behind the process and host probes, on a fake /proc tree.

#include "../../../src/probes/procfs.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace hftguard::probes;

namespace {

class FakeProc : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("hftguard-proc-" + std::to_string(::getpid()));
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const std::string& rel, const std::string& text) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel, std::ios::binary) << text;
  }
  std::string root() const { return root_.string(); }

  fs::path root_;
};

TEST_F(FakeProc, StatWithSpacesAndParenthesesInTheName) {
  // utime 11th and stime 12th after state, cutime and cstime 13th and 14th, rss 21st.
  write("42/stat",
        "42 (my (odd) proc) S 1 2 3 4 5 6 7 8 9 10 100 50 7 3 20 0 1 0 5 1000 77 "
        "18446744073709551615\n");
  auto st = procfs::processStat(root(), 42);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state, 'S');
  EXPECT_EQ(st->cpu_ticks, 150u);
  EXPECT_EQ(st->children_cpu_ticks, 10u);
  EXPECT_EQ(st->rss_pages, 77u);
}

TEST_F(FakeProc, MalformedFilesAreAbsentNotFatal) {
  write("7/stat", "garbage without parenthesis");
  write("8/stat", "8 (x)");
  write("stat", "intr 1 2 3\n");
  write("meminfo", "nothing useful\n");
  EXPECT_FALSE(procfs::processStat(root(), 7));
  EXPECT_FALSE(procfs::processStat(root(), 8));
  EXPECT_FALSE(procfs::processStat(root(), 9));
  EXPECT_FALSE(procfs::hostCpu(root()));
  EXPECT_FALSE(procfs::hostMemory(root()));
}

TEST_F(FakeProc, PidsCommAndCmdline) {
  write("12/comm", "engine_sim\n");
  write("12/cmdline", std::string("/opt/engine_sim\0--role\0primary\0", 31));
  write("self/comm", "x\n");
  write("abc/comm", "y\n");
  EXPECT_EQ(procfs::pids(root()), std::vector<int>{12});
  EXPECT_EQ(procfs::comm(root(), 12), "engine_sim");
  EXPECT_EQ(procfs::cmdline(root(), 12), "/opt/engine_sim --role primary");
}

TEST_F(FakeProc, HostCpuAndMemory) {
  write("stat", "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n");
  write("meminfo", "MemTotal:       1000 kB\nMemFree:   100 kB\nMemAvailable:    250 kB\n");
  auto cpu = procfs::hostCpu(root());
  ASSERT_TRUE(cpu);
  EXPECT_EQ(cpu->total, 1000u);
  EXPECT_EQ(cpu->busy, 150u);  // idle and iowait are not busy
  auto mem = procfs::hostMemory(root());
  ASSERT_TRUE(mem);
  EXPECT_EQ(mem->total_kb, 1000u);
  EXPECT_EQ(mem->available_kb, 250u);
}

TEST(CpuList, RangesAndSinglesAsTheKernelWritesThem) {
  EXPECT_EQ(procfs::parseCpuList("0-3,8,10-11\n"), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(procfs::parseCpuList("5"), std::vector<int>{5});
  EXPECT_FALSE(procfs::parseCpuList(""));
  EXPECT_FALSE(procfs::parseCpuList("3-1"));
  EXPECT_FALSE(procfs::parseCpuList("a-b"));
  EXPECT_FALSE(procfs::parseCpuList("0-99999999"));
}

TEST_F(FakeProc, AllowedCpusAreTheUnionOfItsThreadsAffinity) {
  // The main thread on a housekeeping core, two workers pinned to cores of their own.
  write("42/task/42/status", "Name:\tengine\nCpus_allowed:\tff\nCpus_allowed_list:\t0\n");
  write("42/task/43/status", "Name:\tpoll\nCpus_allowed_list:\t2\n");
  write("42/task/44/status", "Name:\tpoll\nCpus_allowed_list:\t2-3\n");
  EXPECT_EQ(procfs::allowedCpus(root(), 42), 3u);            // 0, 2, 3
  write("7/status", "Name:\tx\nCpus_allowed_list:\t0-7\n");  // no task dir: the process's
  EXPECT_EQ(procfs::allowedCpus(root(), 7), 8u);
  write("8/status", "Name:\ty\n");
  EXPECT_FALSE(procfs::allowedCpus(root(), 8));
  EXPECT_FALSE(procfs::allowedCpus(root(), 9));
}

TEST(RealProc, AllowedCpusOfThisProcessMatchTheKernelsAffinity) {
  // The real /proc's format: this test process may run where sched_getaffinity says.
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  EXPECT_EQ(procfs::allowedCpus("/proc", ::getpid()), static_cast<std::size_t>(CPU_COUNT(&set)));
}

}  // namespace

// Event ids: unique across processes writing the same log in the same millisecond.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hftguard/events/event.hpp"

namespace fs = std::filesystem;
using namespace hftguard;
using namespace hftguard::events;

namespace {

const WallTime kSameMillisecond{std::chrono::milliseconds(1795656141123LL)};

TEST(EventIds, TwoProcessesInTheSameMillisecondNeverCollide) {
  const fs::path dir = fs::temp_directory_path() / ("hftguard-ids-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::vector<pid_t> children;
  for (int w = 0; w < 2; ++w) {
    const pid_t child = fork();
    if (child == 0) {
      // Like the daemon and `hftguard failover`: one generator each, same clock reading.
      EventIds ids;
      std::ofstream out(dir / std::to_string(w));
      for (int i = 0; i < 1000; ++i) out << ids.next(kSameMillisecond) << "\n";
      out.close();
      _exit(out ? 0 : 1);
    }
    children.push_back(child);
  }
  for (pid_t c : children) {
    int status = 0;
    waitpid(c, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::set<std::string> seen;
  std::size_t total = 0;
  for (int w = 0; w < 2; ++w) {
    std::ifstream in(dir / std::to_string(w));
    for (std::string id; std::getline(in, id); ++total) {
      EXPECT_TRUE(id.starts_with("1795656141123-")) << id;
      seen.insert(id);
    }
  }
  fs::remove_all(dir);
  EXPECT_EQ(total, 2000u);
  EXPECT_EQ(seen.size(), total) << "two writers produced the same id";
}

TEST(EventIds, TwoGeneratorsInOneProcessNeverCollide) {
  EventIds a, b;
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    seen.insert(a.next(kSameMillisecond));
    seen.insert(b.next(kSameMillisecond));
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(EventIds, SortInTimeOrderWithinAWriter) {
  EventIds ids("42");
  const std::string first = ids.next(kSameMillisecond);
  EXPECT_EQ(first, "1795656141123-000001-42");
  std::string prev = first;
  for (int i = 0; i < 20; ++i) {
    const std::string next = ids.next(kSameMillisecond + std::chrono::milliseconds(i / 5));
    EXPECT_LT(prev, next);
    prev = next;
  }
}

}  // namespace

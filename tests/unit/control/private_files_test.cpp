// The maintenance file and the lock files are private (0640) and the maintenance file is
// replaced atomically: concurrent writers never leave a reader half a file.

#include <atomic>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hftguard/control/maintenance_file.hpp"
#include "hftguard/coord/coordinator.hpp"

namespace fs = std::filesystem;
using namespace hftguard;

namespace {

class PrivateFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hftguard-private-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static struct stat statOf(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st;
  }

  std::vector<control::MaintenanceEntry> entries(int n) {
    std::vector<control::MaintenanceEntry> out;
    for (int i = 0; i < n; ++i) {
      out.push_back({"c" + std::to_string(i), "alice", std::string(200, 'x'),
                     WallTime{std::chrono::seconds(1795656141 + i)}});
    }
    return out;
  }

  fs::path dir_;
};

TEST_F(PrivateFilesTest, MaintenanceFileIs0640InItsDirectorysGroup) {
  const fs::path path = dir_ / "state/maintenance.json";
  ASSERT_TRUE(control::writeMaintenance(path.string(), entries(2)));
  const auto st = statOf(path);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_gid, statOf(path.parent_path()).st_gid);
  auto back = control::readMaintenance(path.string());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->size(), 2u);
  for (const auto& f : fs::directory_iterator(path.parent_path()))  // no temp file left over
    EXPECT_EQ(f.path().filename(), "maintenance.json");
}

TEST_F(PrivateFilesTest, ConcurrentWritersNeverLeaveAReaderHalfAFile) {
  const std::string path = (dir_ / "maintenance.json").string();
  ASSERT_TRUE(control::writeMaintenance(path, entries(1)));
  std::atomic<bool> stop{false};
  std::atomic<int> bad_reads{0}, reads{0}, failed_writes{0};
  std::thread reader([&] {
    while (!stop) {
      std::string why;
      auto got = control::readMaintenance(path, &why);
      ++reads;
      if (!got || got->empty()) ++bad_reads;
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 200; ++i) {
        if (!control::writeMaintenance(path, entries(1 + (i + w) % 20))) ++failed_writes;
      }
    });
  }
  for (auto& t : writers) t.join();
  stop = true;
  reader.join();
  EXPECT_EQ(failed_writes.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(bad_reads.load(), 0) << "a reader saw a partial or missing file";
  EXPECT_TRUE(control::readMaintenance(path));
}

TEST_F(PrivateFilesTest, LockFilesAre0640InASetgidDirectory) {
  const fs::path locks = dir_ / "locks";
  auto coordinator = coord::makeLocalCoordinator(locks.string(), {"engine"});
  EXPECT_EQ(statOf(locks / "engine.failover.lock").st_mode & 07777, 0640u);
  EXPECT_EQ(statOf(locks).st_mode & 07777, 02770u);
  EXPECT_EQ(statOf(locks).st_gid, statOf(dir_).st_gid);
  coord::Grant grant;
  auto lease = coordinator->acquire("other", grant);  // created on demand: the same
  ASSERT_TRUE(lease) << grant.reason;
  EXPECT_EQ(statOf(locks / "other.failover.lock").st_mode & 07777, 0640u);
  // A lock file from an older version (0644) is made private.
  lease.reset();
  ::chmod((locks / "other.failover.lock").c_str(), 0644);
  lease = coordinator->acquire("other", grant);
  EXPECT_EQ(statOf(locks / "other.failover.lock").st_mode & 07777, 0640u);
}

}  // namespace

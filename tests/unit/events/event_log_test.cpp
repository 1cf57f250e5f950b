// The event log: whole lines only, in order, nothing lost while the disk is full.

#include "hftguard/events/event_log.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace hftguard;
using namespace hftguard::events;

namespace {

Event event(int n) {
  Event e;
  e.id = "id-" + std::to_string(n);
  e.at = WallTime{std::chrono::milliseconds(1795656141123LL + n)};
  e.node = "n1";
  e.component = "engine";
  e.type = "check_failed";
  e.reason = "HTTP 500 \"quoted\" \xff\xfe";  // invalid UTF-8 from a target is replaced
  e.fields["n"] = n;
  return e;
}

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hftguard-events-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    path_ = (dir_ / "sub/failover_events.json").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Every line must be a complete event; returns their "n" fields in file order.
  std::vector<int> lines(const std::string& path) const {
    std::ifstream in(path);
    std::vector<int> out;
    std::string all((std::istreambuf_iterator<char>(in)), {});
    EXPECT_TRUE(all.empty() || all.back() == '\n') << "unterminated last line";
    std::istringstream s(all);
    for (std::string line; std::getline(s, line);) {
      std::string why;
      auto e = parseEventLine(line, &why);
      EXPECT_TRUE(e) << why << ": " << line;
      if (e) out.push_back(e->fields["n"].get<int>());
    }
    return out;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(EventLogTest, RoundTripsEveryField) {
  Event e = event(7);
  e.fields["evidence"] = {{"samples", nlohmann::json::array({{{"check", "h"}}})}};
  const std::string line = toJsonLine(e);
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
  EXPECT_NE(line.find("\"ts\":\"2026-11-26T01:22:21.13"), std::string::npos) << line;
  auto back = parseEventLine(line);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->id, e.id);
  EXPECT_EQ(back->at, e.at);
  EXPECT_EQ(back->type, e.type);
  EXPECT_EQ(back->fields["evidence"]["samples"][0]["check"], "h");
  EXPECT_FALSE(parseEventLine("{\"id\": 1}"));
  EXPECT_FALSE(parseEventLine("{\"id\":\"x\",\"ts\":\"2026-11-26T01:32:13.12"));
}

TEST_F(EventLogTest, TimestampsAreRfc3339WithMilliseconds) {
  const WallTime t{std::chrono::milliseconds(1795656141123LL)};
  EXPECT_EQ(formatTimestamp(t), "2026-11-26T01:22:21.123Z");
  EXPECT_EQ(parseTimestamp("2026-11-26T01:22:21.123Z"), t);
  EXPECT_EQ(parseTimestamp("2026-11-26T01:22:21Z"), WallTime{std::chrono::seconds(1795656141)});
  EXPECT_FALSE(parseTimestamp("yesterday"));
}

TEST_F(EventLogTest, TimestampsWithAnOffsetAreTheSameInstant) {
  const WallTime t{std::chrono::milliseconds(1795656141123LL)};
  EXPECT_EQ(parseTimestamp("2026-11-26T02:22:21.123+01:00"), t);
  EXPECT_EQ(parseTimestamp("2026-11-25T20:22:21.123-05:00"), t);
  EXPECT_EQ(parseTimestamp("2026-11-26T06:52:21.123+05:30"), t);
  EXPECT_EQ(parseTimestamp("2026-11-26T01:22:21.123456Z"), t);  // finer than ms: cut to ms
  EXPECT_EQ(parseTimestamp("2026-11-26T01:22:21.1Z"), t - std::chrono::milliseconds(23));
  for (const char* bad : {"2026-11-26T01:22:21", "2026-11-26 01:22:21Z", "2026-13-26T01:22:21Z",
                          "2026-11-26T01:22:21+25:00x", "2026-11-26T06:52:21+0530",
                          "2026-11-26T1|:00:00Z",  // the fuzzer's: a float overflow in date::parse
                          "2026-02-30T00:00:00Z", "2026-11-26T01:22:21.Z",
                          "2026-11-26T01:22:21.1234567890Z", "2300-01-01T00:00:00Z",
                          "2026-11-26T01:22:21.123Zjunk"}) {
    EXPECT_FALSE(parseTimestamp(bad)) << bad;
  }
  const WallTime now{std::chrono::seconds(1795656141)};
  EXPECT_EQ(parseSince("10m", now), now - std::chrono::minutes(10));
  EXPECT_EQ(parseSince("2026-11-26T02:22:21+01:00", now), now);
  EXPECT_FALSE(parseSince("+01:00", now));
}

TEST_F(EventLogTest, AFilterMatchesComponentTypesAndTime) {
  Event e;
  e.component = "engine";
  e.type = "failover_completed";
  e.at = WallTime{std::chrono::seconds(100)};
  EXPECT_TRUE(EventFilter{}.matches(e));
  EXPECT_TRUE((EventFilter{"engine", {"step_done", "failover_completed"}, {}}.matches(e)));
  EXPECT_FALSE((EventFilter{"db", {}, {}}.matches(e)));
  EXPECT_FALSE((EventFilter{"", {"step_done"}, {}}.matches(e)));
  EXPECT_FALSE((EventFilter{"", {}, WallTime{std::chrono::seconds(101)}}.matches(e)));
  EXPECT_EQ(splitList("a,,b,"), (std::vector<std::string>{"a", "b"}));
}

TEST_F(EventLogTest, NoEventLostOrTornWhileTheDiskIsFull) {
  std::atomic<int> call{0};
  std::atomic<bool> full{false};
  EventLog::Options o{path_, 100, nullptr, nullptr};
  o.write = [&](int fd, const void* d, std::size_t n) -> ssize_t {
    ++call;
    if (!full) return ::write(fd, d, n);
    // Every other failing write gets half its lines out before ENOSPC: they must be taken
    // back.
    if (call % 2 == 0) {
      (void)!::write(fd, d, n / 2);
      errno = ENOSPC;
      return static_cast<ssize_t>(n / 2);
    }
    errno = ENOSPC;
    return -1;
  };
  EventLog log(o);
  for (int i = 0; i < 3; ++i) log.append(event(i));
  EXPECT_TRUE(log.flush());
  full = true;
  for (int i = 3; i < 8; ++i) log.append(event(i));
  EXPECT_FALSE(log.flush());
  EXPECT_FALSE(log.flush());  // a retry fails too, the half line taken back again
  EXPECT_TRUE(log.failing());
  EXPECT_EQ(log.queued(), 5u);
  EXPECT_EQ(lines(path_), (std::vector<int>{0, 1, 2}));
  full = false;
  log.append(event(8));
  EXPECT_TRUE(log.flush());
  EXPECT_FALSE(log.failing());
  EXPECT_EQ(log.queued(), 0u);
  EXPECT_EQ(lines(path_), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST_F(EventLogTest, FailedFsyncIsRetriedNotDuplicated) {
  std::atomic<int> syncs{0};
  EventLog::Options o{path_, 100, nullptr, nullptr};
  o.sync = [&](int fd) {
    if (++syncs == 2) {
      errno = EIO;
      return -1;
    }
    return ::fsync(fd);
  };
  EventLog log(o);
  log.append(event(0));
  EXPECT_TRUE(log.flush());
  log.append(event(1));
  EXPECT_TRUE(log.flush() || log.flush());  // the first may see the failed fsync
  EXPECT_EQ(log.failedWrites(), 1u);
  EXPECT_EQ(lines(path_), (std::vector<int>{0, 1}));
}

TEST_F(EventLogTest, BoundedQueueDropsTheOldest) {
  std::atomic<bool> full{true};
  EventLog::Options o{path_, 3, nullptr, nullptr};
  o.write = [&](int fd, const void* d, std::size_t n) -> ssize_t {
    if (full) {
      errno = EIO;
      return -1;
    }
    return ::write(fd, d, n);
  };
  EventLog log(o);
  for (int i = 0; i < 5; ++i) log.append(event(i));
  EXPECT_EQ(log.queued(), 3u);
  EXPECT_EQ(log.dropped(), 2u);
  full = false;
  EXPECT_TRUE(log.flush());
  EXPECT_EQ(lines(path_), (std::vector<int>{2, 3, 4}));
}

TEST_F(EventLogTest, ReopenAfterLogrotateMovedTheFile) {
  EventLog log({path_, 100, nullptr, nullptr});
  log.append(event(0));
  EXPECT_TRUE(log.flush());
  fs::rename(path_, path_ + ".1");
  log.append(event(1));  // still the old file, like any daemon before SIGHUP
  EXPECT_TRUE(log.flush());
  log.reopen();
  log.append(event(2));
  EXPECT_TRUE(log.flush());
  EXPECT_EQ(lines(path_ + ".1"), (std::vector<int>{0, 1}));
  EXPECT_EQ(lines(path_), (std::vector<int>{2}));
}

TEST_F(EventLogTest, AWriterKilledMidWriteNeverCostsTheEventAfterIt) {
  for (int round = 0; round < 5; ++round) {
    pid_t child = fork();
    if (child == 0) {
      EventLog log({path_, 100, nullptr, nullptr});
      for (int i = 0;; ++i) {
        log.append(event(i));
        if (i % 8 == 7) log.flush();
      }
    }
    // Killed once it has written something this round (bounded), at a varying moment after.
    auto size = [&] {
      std::error_code ec;
      const auto n = fs::file_size(path_, ec);
      return ec ? std::uintmax_t{0} : n;
    };
    const std::uintmax_t before = size();
    for (int wait = 0; wait < 400 && size() <= before; ++wait) usleep(5000);
    usleep(static_cast<useconds_t>(round * 7000));
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
  }
  // A kill may stop a write() between two pages: a fragment at most per kill, each ended by
  // the next writer, never glued to the event after it. The last one is ended by the next
  // write here.
  {
    EventLog log({path_, 100, nullptr, nullptr});
    log.append(event(-1));
    log.flush();
  }
  std::ifstream in(path_);
  std::string all((std::istreambuf_iterator<char>(in)), {});
  ASSERT_EQ(all.back(), '\n');
  std::istringstream split(all);
  std::size_t whole = 0, fragments = 0;
  std::optional<Event> last;
  for (std::string line; std::getline(split, line);) {
    last = parseEventLine(line);
    (last ? whole : fragments)++;
  }
  EXPECT_GT(whole, 5u);
  EXPECT_LE(fragments, 5u);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->fields["n"], -1) << "the event after a fragment was glued to it";
}

// What a killed writer (or a power cut) leaves: a last line without its newline. The next
// write ends it first, so the next event is whole and readable.
TEST_F(EventLogTest, AFragmentLeftByAKilledWriterIsEndedNotGluedToTheNextEvent) {
  fs::create_directories(fs::path(path_).parent_path());
  std::ofstream(path_) << toJsonLine(event(1)) << "{\"id\":\"id-2\",\"ts\":\"2026-11";
  {
    EventLog log({path_, 100, nullptr, nullptr});
    log.append(event(3));
    log.flush();
  }
  std::ifstream in(path_);
  std::vector<std::string> got;
  for (std::string line; std::getline(in, line);) got.push_back(line);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_TRUE(parseEventLine(got[0]));
  EXPECT_FALSE(parseEventLine(got[1]));  // the fragment, a malformed line readers skip
  auto third = parseEventLine(got[2]);
  ASSERT_TRUE(third) << got[2];
  EXPECT_EQ(third->fields["n"], 3);
  // An intact log gets nothing added.
  const auto size = fs::file_size(path_);
  {
    EventLog log({path_, 100, nullptr, nullptr});
    log.append(event(4));
    log.flush();
  }
  EXPECT_EQ(fs::file_size(path_), size + toJsonLine(event(4)).size());
}

}  // namespace

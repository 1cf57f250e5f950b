// The event log's writer thread: the loop never waits on the disk, a full disk is retried and
// reported, each durability wait is bounded, and the failover runner reports a step done only
// once its event is on disk.

#include <atomic>
#include <filesystem>

#include <gtest/gtest.h>
#include <unistd.h>

#include "hftguard/actions/runner.hpp"
#include "hftguard/config/loader.hpp"
#include "hftguard/events/event_log.hpp"
#include "hftguard/net/http_client.hpp"
#include "hftguard/net/worker_pool.hpp"

#include "log_test_support.hpp"

namespace fs = std::filesystem;
using namespace hftguard;
using namespace hftguard::events;
using namespace hftguard::events::testing;
using namespace std::chrono_literals;

namespace {

Event event(int n, const std::string& type = "check_failed") {
  Event e;
  e.id = "id-" + std::to_string(n);
  e.at = WallTime{std::chrono::milliseconds(1795656141123LL + n)};
  e.node = "n1";
  e.component = "engine";
  e.type = type;
  e.reason = "r";
  e.fields["n"] = n;
  return e;
}

std::vector<int> numbers(const std::vector<Event>& all) {
  std::vector<int> out;
  for (const auto& e : all) out.push_back(e.fields["n"].get<int>());
  return out;
}

class DurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hftguard-durable-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    path_ = (dir_ / "failover_events.json").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  EventLog::Options options() {
    EventLog::Options o{path_, 10000, nullptr, nullptr};
    o.io = &io_;
    return o;
  }

  fs::path dir_;
  std::string path_;
  boost::asio::io_context io_;
};

TEST_F(DurabilityTest, ADiskFullIsRetriedReportedAndNoWaitOutlastsIt) {
  std::atomic<bool> full{false};
  auto o = options();
  o.durable_wait = 60s;  // a full disk is known at once: nobody waits this long
  o.retry = 10ms;
  o.write = [&](int fd, const void* d, std::size_t n) -> ssize_t {
    if (!full) return ::write(fd, d, n);
    errno = ENOSPC;
    return -1;
  };
  EventLog log(o);
  std::vector<EventLog::Health> health;
  log.onHealth([&](const EventLog::Health& h) { health.push_back(h); });
  std::vector<std::pair<int, bool>> done;
  auto track = [&](int n) {
    log.whenDurable(log.append(event(n)), [&done, n](bool d) { done.emplace_back(n, d); });
  };
  track(0);
  ASSERT_TRUE(runUntil(io_, [&] { return done.size() == 1; }));
  EXPECT_EQ(done[0], std::make_pair(0, true));

  full = true;
  const auto t0 = std::chrono::steady_clock::now();
  track(1);
  ASSERT_TRUE(runUntil(
      io_, [&] { return done.size() == 2; }, 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  EXPECT_EQ(done[1], std::make_pair(1, false));  // given up: the disk is full
  ASSERT_EQ(health.size(), 1u);
  EXPECT_TRUE(health[0].failing);
  EXPECT_NE(health[0].error.find("No space"), std::string::npos) << health[0].error;
  track(2);  // while failing: released at once
  ASSERT_TRUE(runUntil(
      io_, [&] { return done.size() == 3; }, 2s));
  EXPECT_EQ(log.queued(), 2u);

  full = false;
  ASSERT_TRUE(runUntil(
      io_, [&] { return health.size() == 2; }, 10s));
  EXPECT_FALSE(health[1].failing);
  EXPECT_GE(health[1].failed_writes, 1u);
  EXPECT_EQ(health[1].written_late, 2u);
  EXPECT_GT(health[1].failing_for, Duration::zero());
  const auto all = readLog(path_);
  EXPECT_EQ(numbers(all), (std::vector<int>{0, 1, 2}));
  EXPECT_FALSE(all[0].fields.contains("written_late"));
  EXPECT_EQ(all[1].fields.value("written_late", false), true);
  EXPECT_EQ(all[2].fields.value("written_late", false), true);
}

TEST_F(DurabilityTest, AStalledDiskNeverBlocksTheLoopAndAWaitIsBounded) {
  Gate gate;
  gate.close();
  auto o = options();
  o.durable_wait = 200ms;
  o.write = [&](int fd, const void* d, std::size_t n) -> ssize_t {
    gate.pass();
    return ::write(fd, d, n);
  };
  EventLog log(o);
  log.append(event(0));
  ASSERT_TRUE(runUntil(io_, [&] { return gate.blocked() == 1; }));  // the writer is stuck
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 1; i < 1000; ++i) log.append(event(i));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);  // microseconds each, not the stall
  std::optional<bool> durable;
  const auto w0 = std::chrono::steady_clock::now();
  log.whenDurable(log.lastSequence(), [&](bool d) { durable = d; });
  ASSERT_TRUE(runUntil(
      io_, [&] { return durable.has_value(); }, 10s));
  EXPECT_FALSE(*durable);
  EXPECT_GE(std::chrono::steady_clock::now() - w0, 200ms);
  EXPECT_FALSE(log.failing());  // slow is not failed

  gate.release();
  EXPECT_TRUE(log.flush());
  const auto all = readLog(path_);
  ASSERT_EQ(all.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(all[i].fields["n"], i);
  EXPECT_FALSE(all[0].fields.contains("written_late"));  // already in the stalled write
  EXPECT_EQ(all[999].fields.value("written_late", false), true);
}

TEST_F(DurabilityTest, GroupCommitWritesManyEventsPerFsync) {
  std::atomic<int> syncs{0};
  auto o = options();
  o.sync = [&](int fd) {
    ++syncs;
    std::this_thread::sleep_for(2ms);  // a disk slower than the loop
    return ::fsync(fd);
  };
  EventLog log(o);
  for (int i = 0; i < 1000; ++i) log.append(event(i));
  EXPECT_TRUE(log.flush(30s));
  EXPECT_LE(syncs.load(), 500);
  EXPECT_EQ(readLog(path_).size(), 1000u);
}

TEST_F(DurabilityTest, DurabilityCallbacksRunOnTheLoopInOrder) {
  EventLog log(options());
  std::vector<int> order;
  const auto loop = std::this_thread::get_id();
  for (int i = 0; i < 50; ++i) {
    log.whenDurable(log.append(event(i)), [&, i](bool d) {
      EXPECT_TRUE(d);
      EXPECT_EQ(std::this_thread::get_id(), loop);
      order.push_back(i);
    });
  }
  ASSERT_TRUE(runUntil(io_, [&] { return order.size() == 50; }));
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[i], i);
  bool late = false;  // an event already on disk: still answered, on the loop
  log.whenDurable(1, [&](bool d) { late = d; });
  ASSERT_TRUE(runUntil(io_, [&] { return late; }));
}

// The runner with a real log: exec steps, the disk stalled on demand.
class RunnerDurabilityTest : public DurabilityTest {
 protected:
  void start(EventLog& log, std::vector<std::string>& types) {
    auto r = config::loadConfigString(
        "node: {name: n1}\nplans:\n  p:\n    steps:\n"
        "      - {name: a, action: exec, argv: [/bin/true]}\n"
        "      - {name: b, action: exec, argv: [/bin/true]}\n"
        "components:\n  c: {tier: hot, rto_target: 10s, plan: p, "
        "checks: {t: {type: tcp, host: 127.0.0.1, port: 1}}}\n",
        "durable.yaml");
    for (const auto& e : r.errors) ADD_FAILURE() << e.format();
    cfg_ = r.config;
    coordinator_ = coord::makeLocalCoordinator((dir_ / "locks").string());
    runner_ = std::make_unique<actions::FailoverRunner>(
        env_, *coordinator_,
        [&](const std::string& type, const std::string&, const std::string&, nlohmann::json) {
          types.push_back(type);
          log.append(event(static_cast<int>(types.size()), type));
        },
        [&](std::function<void()> then) {
          log.whenDurable(log.lastSequence(), [then = std::move(then)](bool) { then(); });
        });
    actions::RunRequest req;
    req.component = "c";
    req.plan = cfg_->findPlan("p");
    req.context = {"c", "n1", "old-host", "new-host", {}, {}, "test"};
    ASSERT_TRUE(runner_->start(req, [&](const actions::RunReport& rep) {
      report_ = rep;
      on_disk_at_end_ = readLog(path_);
    }));
  }

  SystemClock clock_;
  net::HttpClient http_{io_};
  net::WorkerPool workers_{io_, 1};
  actions::ActionEnv env_{io_, http_, workers_, clock_};
  std::shared_ptr<const config::Config> cfg_;
  std::unique_ptr<coord::Coordinator> coordinator_;
  std::unique_ptr<actions::FailoverRunner> runner_;
  std::optional<actions::RunReport> report_;
  std::vector<Event> on_disk_at_end_;
};

TEST_F(RunnerDurabilityTest, AStepIsReportedDoneOnlyOnceItsEventIsOnDisk) {
  Gate gate;
  auto o = options();
  o.durable_wait = 60s;
  o.write = [&](int fd, const void* d, std::size_t n) -> ssize_t {
    gate.pass();
    return ::write(fd, d, n);
  };
  EventLog log(o);
  std::vector<std::string> types;
  gate.close();
  start(log, types);
  ASSERT_TRUE(runUntil(io_, [&] { return types.size() >= 3; }));
  EXPECT_EQ(types[2], "step_done");
  runUntil(
      io_, [] { return false; }, 300ms);  // step b must not start on a stalled disk
  EXPECT_EQ(types.size(), 3u);
  gate.release();
  ASSERT_TRUE(runUntil(io_, [&] { return report_.has_value(); }));
  EXPECT_TRUE(report_->ok);
  EXPECT_EQ(types, (std::vector<std::string>{"failover_started", "step_started", "step_done",
                                             "step_started", "step_done", "failover_completed"}));
  ASSERT_EQ(on_disk_at_end_.size(), 6u);  // the plan ended with every event on disk
  EXPECT_EQ(on_disk_at_end_.back().type, "failover_completed");
}

TEST_F(RunnerDurabilityTest, ADiskThatNeverAnswersDelaysEachStepOnlyByTheBound) {
  Gate gate;
  auto o = options();
  o.durable_wait = 200ms;
  o.write = [&](int fd, const void* d, std::size_t n) -> ssize_t {
    gate.pass();
    return ::write(fd, d, n);
  };
  EventLog log(o);
  std::vector<std::string> types;
  gate.close();
  const auto t0 = std::chrono::steady_clock::now();
  start(log, types);
  ASSERT_TRUE(runUntil(
      io_, [&] { return report_.has_value(); }, 10s));
  EXPECT_TRUE(report_->ok);  // the failover completed without the disk
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 3 * 200ms);  // two steps and the end
  EXPECT_TRUE(on_disk_at_end_.empty());
  gate.release();
  EXPECT_TRUE(log.flush());
  const auto all = readLog(path_);
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all.back().type, "failover_completed");
  EXPECT_EQ(all.back().fields.value("written_late", false), true);
}

}  // namespace

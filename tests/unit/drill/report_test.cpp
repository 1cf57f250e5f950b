// The drill's measurements from a synthetic event stream, and its reports.

#include "hftguard/drill/report.hpp"

#include <gtest/gtest.h>

using namespace hftguard;
using namespace std::chrono_literals;

namespace {

events::Event at(WallTime t, const std::string& type, nlohmann::json fields = {},
                 const std::string& component = "engine") {
  events::Event e;
  e.at = t;
  e.component = component;
  e.type = type;
  if (!fields.is_null()) e.fields = std::move(fields);
  return e;
}

TEST(DrillReport, PhasesComeFromTheComponentsEventsAfterTheInjection) {
  const WallTime t0 = WallTime(std::chrono::seconds(1'800'000'000));
  auto ms = [&](int n) { return t0 + std::chrono::milliseconds(n); };
  const std::vector<events::Event> log = {
      at(ms(-500), "check_failed"),               // before the injection: not this run
      at(ms(90), "check_failed", {}, "other"),    // another component
      at(ms(100), "check_failed"),
      at(ms(300), "failover_triggered"),
      at(ms(310), "step_done", {{"step", "promote"}, {"duration_ms", 4.5}}),
      at(ms(320), "step_done", {{"step", "discovery"}, {"duration_ms", 2.0}}),
      at(ms(330), "failover_completed", {{"rto_ms", 230.0}, {"rto_target_ms", 30000.0}}),
      at(ms(340), "failover_completed", {{"dry_run", true}}),
  };
  drill::RunResult r;
  r.scenario = "engine-crash";
  drill::measure(log, "engine", t0, r);
  EXPECT_DOUBLE_EQ(r.first_failure_ms, 100);
  EXPECT_DOUBLE_EQ(r.decision_ms, 300);
  EXPECT_DOUBLE_EQ(r.completed_ms, 330);
  EXPECT_DOUBLE_EQ(r.rto_ms, 230);
  EXPECT_DOUBLE_EQ(r.rto_target_ms, 30000);
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(r.steps[0].first, "promote");
  EXPECT_TRUE(r.failover);
}

TEST(DrillReport, RepeatedRunsGetPercentilesInEveryFormat) {
  std::vector<drill::RunResult> runs;
  for (int i = 1; i <= 20; ++i) {
    drill::RunResult r;
    r.scenario = "engine-crash";
    r.repeat = i;
    r.pass = true;
    r.first_failure_ms = i;
    r.decision_ms = 200 + i;
    r.completed_ms = 220 + i;
    r.verified_ms = 230 + i;
    r.rto_ms = 210 + i;
    r.rto_target_ms = 30000;
    runs.push_back(r);
  }
  const std::string t = drill::table(runs);
  EXPECT_NE(t.find("engine-crash over 20 runs"), std::string::npos) << t;
  EXPECT_NE(t.find("RTO"), std::string::npos);
  EXPECT_NE(drill::markdown(runs).find("| RTO | 221 | 229 | 230 |"), std::string::npos)
      << drill::markdown(runs);
  const auto j = nlohmann::json::parse(drill::json(runs));
  EXPECT_EQ(j["runs"].size(), 20u);
  EXPECT_EQ(j["runs"][0]["rto_ms"], 211.0);
  const std::string svg = drill::timelineSvg(runs);
  EXPECT_TRUE(svg.starts_with("<svg"));
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n') > 20, true);
}

}  // namespace

namespace {

// With the engines' histories, the partition table: per scenario, runs, failovers, the time
// with two primaries, the longest self-fence - in the table, the markdown and the JSON.
TEST(DrillReport, PartitionRunsGetTheHistoriesTable) {
  const WallTime t0 = WallTime(std::chrono::seconds(1'800'000'000));
  drill::RunResult a;
  a.scenario = "partition-primary-host";
  drill::measure({at(t0 + 10ms, "failover_triggered"),
                  at(t0 + 20ms, "self_fence_completed", {{"duration_ms", 7.0}}),
                  at(t0 + 30ms, "failover_completed", {{"rto_ms", 9000.0}})},
                 "engine", t0, a);
  a.double_primary_ms = 0;
  a.pass = true;
  drill::RunResult b;
  b.scenario = "partition-observer";
  b.double_primary_ms = 1.5;
  drill::RunResult plain;  // no histories: not in that table
  plain.scenario = "engine-crash";
  EXPECT_EQ(a.self_fence_ms, 7.0);
  const std::vector<drill::RunResult> runs = {a, b, plain};
  const std::string t = drill::table(runs);
  ASSERT_NE(t.find("the engines' histories"), std::string::npos) << t;
  const std::string part = t.substr(t.find("the engines' histories"));
  EXPECT_NE(part.find("partition-primary-host"), std::string::npos) << part;
  EXPECT_NE(part.find("7 ms"), std::string::npos) << part;
  EXPECT_NE(part.find("1.5 ms"), std::string::npos) << part;
  EXPECT_EQ(part.find("engine-crash"), std::string::npos) << part;
  EXPECT_NE(drill::markdown(runs).find("| partition-observer | 1 | 0 | 1.5 ms | none |"),
            std::string::npos)
      << drill::markdown(runs);
  EXPECT_NE(drill::json(runs).find("\"double_primary_ms\": 1.5"), std::string::npos);
  // Without any histories, no such table.
  EXPECT_EQ(drill::table({plain}).find("histories"), std::string::npos);
}

}  // namespace

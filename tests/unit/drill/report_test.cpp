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

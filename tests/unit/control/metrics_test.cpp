// The Prometheus exposition written once in control/: what the daemon renders parses back
// strictly, histograms are cumulative, label values are escaped, and the parser the tests
// (and scripts/demo) use refuses what a scraper would refuse.

#include <gtest/gtest.h>

#include "hftguard/control/metrics.hpp"
#include "hftguard/control/telemetry.hpp"
#include "hftguard/events/event.hpp"
#include "hftguard/probes/result.hpp"

using namespace hftguard;
using namespace hftguard::control;

namespace {

std::optional<double> sample(const Exposition& e, const std::string& name, const Labels& labels) {
  for (const auto& s : e.samples) {
    if (s.name == name && s.labels == labels) return s.value;
  }
  return std::nullopt;
}

}  // namespace

TEST(Metrics, RendersEveryTypeAndParsesBack) {
  Metrics m;
  m.counter("x_requests_total", "Requests.");
  m.gauge("x_up", "Up.");
  m.histogram("x_latency_seconds", "Latency.", {0.1, 1});
  m.add("x_requests_total", {{"path", "/a"}});
  m.add("x_requests_total", {{"path", "/a"}}, 2);
  m.set("x_up", {}, 1);
  m.observe("x_latency_seconds", {{"check", "c"}}, 0.05);
  m.observe("x_latency_seconds", {{"check", "c"}}, 0.5);
  m.observe("x_latency_seconds", {{"check", "c"}}, 7);
  std::string why;
  auto e = parseExposition(m.render(), &why);
  ASSERT_TRUE(e) << why << "\n" << m.render();
  EXPECT_EQ(e->types["x_requests_total"], "counter");
  EXPECT_EQ(e->types["x_latency_seconds"], "histogram");
  EXPECT_EQ(sample(*e, "x_requests_total", {{"path", "/a"}}), 3);
  EXPECT_EQ(sample(*e, "x_up", {}), 1);
  // Cumulative buckets, +Inf equal to the count.
  EXPECT_EQ(sample(*e, "x_latency_seconds_bucket", {{"check", "c"}, {"le", "0.1"}}), 1);
  EXPECT_EQ(sample(*e, "x_latency_seconds_bucket", {{"check", "c"}, {"le", "1"}}), 2);
  EXPECT_EQ(sample(*e, "x_latency_seconds_bucket", {{"check", "c"}, {"le", "+Inf"}}), 3);
  EXPECT_EQ(sample(*e, "x_latency_seconds_count", {{"check", "c"}}), 3);
  EXPECT_DOUBLE_EQ(*sample(*e, "x_latency_seconds_sum", {{"check", "c"}}), 7.55);
}

// What a reload removed goes from every family; the rest stays.
TEST(Metrics, ForgetDropsEverySeriesWithTheLabels) {
  Metrics m;
  m.gauge("x_up", "Up.");
  m.histogram("x_latency_seconds", "Latency.", {0.1, 1});
  m.set("x_up", {{"component", "e"}, {"check", "port"}}, 1);
  m.set("x_up", {{"component", "e"}, {"check", "health"}}, 1);
  m.set("x_up", {{"component", "f"}, {"check", "port"}}, 1);
  m.observe("x_latency_seconds", {{"component", "e"}, {"check", "port"}}, 0.5);
  m.forget({{"check", "port"}, {"component", "e"}});  // in any order
  EXPECT_FALSE(m.value("x_up", {{"component", "e"}, {"check", "port"}}));
  EXPECT_EQ(m.value("x_up", {{"component", "e"}, {"check", "health"}}), 1);
  EXPECT_EQ(m.value("x_up", {{"component", "f"}, {"check", "port"}}), 1);
  EXPECT_EQ(m.render().find("check=\"port\",component=\"e\""), std::string::npos);
  EXPECT_EQ(m.render().find("component=\"e\",check=\"port\""), std::string::npos) << m.render();
  m.forget({{"component", "f"}});
  EXPECT_FALSE(m.value("x_up", {{"component", "f"}, {"check", "port"}}));
}

TEST(Metrics, LabelValuesAreEscapedAndReadBackUnchanged) {
  Metrics m;
  m.gauge("x_info", "Info.");
  const std::string nasty = "a \"quoted\" back\\slash\nnewline";
  m.set("x_info", {{"reason", nasty}}, 1);
  std::string why;
  auto e = parseExposition(m.render(), &why);
  ASSERT_TRUE(e) << why;
  EXPECT_EQ(sample(*e, "x_info", {{"reason", nasty}}), 1);
}

TEST(Metrics, AnUndeclaredOrMistypedFamilyIsAProgrammingError) {
  Metrics m;
  m.gauge("x_up", "Up.");
  EXPECT_THROW(m.add("x_up", {}), std::logic_error);
  EXPECT_THROW(m.set("x_missing", {}, 1), std::logic_error);
}

TEST(Metrics, TheParserRefusesWhatAScraperWould) {
  const char* bad[] = {
      "x 1\n",                                         // no TYPE
      "# TYPE x gauge\nx{a=\"1} 1\n",                  // unterminated value
      "# TYPE x gauge\nx{a=1} 1\n",                    // unquoted
      "# TYPE x gauge\nx 1",                           // no final newline
      "# TYPE x gauge\nx one\n",                       // not a number
      "# TYPE x gauge\nx 1\nx 2\n",                    // the same series twice
      "# TYPE 1x gauge\n",                             // bad name
      "# TYPE x gauge\nx{a=\"\\q\"} 1\n",              // unknown escape
      "# TYPE x gauge\n# TYPE x counter\n",            // two types
  };
  for (const char* text : bad) {
    std::string why;
    EXPECT_FALSE(parseExposition(text, &why)) << text;
    EXPECT_TRUE(why.starts_with("line ")) << why;
  }
}

TEST(Telemetry, FailoversRtoStepsAndAlertsCountFromTheirEvents) {
  Telemetry t("9.9.9");
  events::Event done;
  done.type = "failover_completed";
  done.component = "engine";
  done.fields = {{"rto_ms", 4200.0}, {"rto_target_ms", 3000.0}, {"rto_met", false}};
  t.onEvent(done);
  events::Event dry = done;  // a takeover's re-verification: checked, changed nothing
  dry.fields = {{"dry_run", true}, {"duration_ms", 3.0}};
  t.onEvent(dry);
  events::Event quorum;  // a field named like a flag that holds text is no flag (nor a crash)
  quorum.type = "quorum_reached";
  quorum.component = "engine";
  quorum.fields = {{"self_fence", "not needed: the host answered"}};
  t.onEvent(quorum);
  events::Event failed = done;
  failed.type = "failover_failed";
  failed.fields = {{"failed_step", "promote"}};
  t.onEvent(failed);
  events::Event planned = done;  // a switchover's plan: a switchover, not a failover
  planned.fields = {{"rto_ms", 900.0}, {"switchover", "sw-1"}};
  t.onEvent(planned);
  events::Event moved;
  moved.type = "switchover_completed";
  moved.component = "engine";
  moved.fields = {{"dry_run", false}};
  t.onEvent(moved);
  events::Event checked = moved;  // a dry run changes nothing: no switchover
  checked.fields = {{"dry_run", true}};
  t.onEvent(checked);
  events::Event step;
  step.type = "step_done";
  step.component = "engine";
  step.fields = {{"step", "promote"}, {"action", "http_request"}, {"duration_ms", 12.0}};
  t.onEvent(step);
  events::Event alert;
  alert.type = "alert_failed";
  alert.fields = {{"channel", "pager"}};
  t.onEvent(alert);
  probes::ProbeResult r;
  r.component = "engine";
  r.check = "health";
  r.status = probes::ProbeStatus::Timeout;
  r.latency = std::chrono::milliseconds(80);
  t.onProbe(r);
  t.onEventLogWrite(std::chrono::milliseconds(3), false);

  Telemetry::State s;
  s.components.push_back({"engine", "failed", false, 30, 2, "engine_b", {}, {"engine_a"}});
  std::string why;
  auto e = parseExposition(t.render(s), &why);
  ASSERT_TRUE(e) << why;
  EXPECT_EQ(sample(*e, "hftguard_failovers_total", {{"component", "engine"}, {"outcome", "completed"}}), 1);
  EXPECT_EQ(sample(*e, "hftguard_failovers_total", {{"component", "engine"}, {"outcome", "failed"}}), 1);
  EXPECT_EQ(sample(*e, "hftguard_failover_rto_seconds_count", {{"component", "engine"}}), 1);
  EXPECT_DOUBLE_EQ(*sample(*e, "hftguard_failover_rto_seconds_sum", {{"component", "engine"}}), 4.2);
  EXPECT_EQ(sample(*e, "hftguard_failover_rto_missed_total", {{"component", "engine"}}), 1);
  EXPECT_EQ(sample(*e, "hftguard_switchovers_total", {{"component", "engine"}, {"outcome", "completed"}}), 1);
  EXPECT_EQ(sample(*e, "hftguard_plan_step_duration_seconds_count",
                   {{"component", "engine"}, {"step", "promote"}, {"action", "http_request"}}),
            1);
  EXPECT_EQ(sample(*e, "hftguard_alerts_total", {{"channel", "pager"}, {"outcome", "failed"}}), 1);
  EXPECT_EQ(sample(*e, "hftguard_check_up", {{"component", "engine"}, {"check", "health"}}), 0);
  EXPECT_EQ(sample(*e, "hftguard_check_results_total",
                   {{"component", "engine"}, {"check", "health"}, {"status", "timeout"}}),
            1);
  EXPECT_EQ(sample(*e, "hftguard_event_log_write_errors_total", {}), 1);
  EXPECT_EQ(sample(*e, "hftguard_component_health", {{"component", "engine"}, {"state", "failed"}}), 1);
  EXPECT_EQ(sample(*e, "hftguard_component_health", {{"component", "engine"}, {"state", "healthy"}}), 0);
  EXPECT_EQ(sample(*e, "hftguard_member_role",
                   {{"component", "engine"}, {"member", "engine_b"}, {"role", "primary"}}),
            1);
  EXPECT_EQ(sample(*e, "hftguard_member_role",
                   {{"component", "engine"}, {"member", "engine_a"}, {"role", "fenced"}}),
            1);
  EXPECT_EQ(sample(*e, "hftguard_epoch", {{"component", "engine"}}), 2);
  EXPECT_EQ(sample(*e, "hftguard_build_info", {{"version", "9.9.9"}}), 1);

  // A scrape after the roles moved carries no stale role series.
  s.components[0].primary = "engine_a";
  s.components[0].fenced.clear();
  e = parseExposition(t.render(s), &why);
  ASSERT_TRUE(e) << why;
  EXPECT_FALSE(sample(*e, "hftguard_member_role",
                      {{"component", "engine"}, {"member", "engine_b"}, {"role", "primary"}}));
}

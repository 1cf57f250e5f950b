// The Grafana dashboard in the repo queries only metrics the daemon exports: every metric
// name in every query (and template variable) is a family the daemon's /metrics declares,
// with a histogram's _bucket/_sum/_count read as its family. A renamed metric fails here,
// not on an SRE's empty panel.

#include <fstream>
#include <regex>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hftguard/control/metrics.hpp"
#include "hftguard/control/telemetry.hpp"

using namespace hftguard;

namespace {

nlohmann::json dashboard() {
  std::ifstream in(std::string(HFTGUARD_SOURCE_DIR) + "/config/grafana/hftguard.json");
  return nlohmann::json::parse(in, nullptr, false);
}

// Every query string in the dashboard.
std::vector<std::string> queries(const nlohmann::json& d) {
  std::vector<std::string> out;
  for (const auto& p : d["panels"]) {
    for (const auto& t : p.value("targets", nlohmann::json::array())) out.push_back(t["expr"]);
  }
  for (const auto& v : d["templating"]["list"]) {
    if (v.value("type", "") == "query") out.push_back(v["query"]);
  }
  return out;
}

}  // namespace

TEST(Dashboard, EveryQueryNamesAMetricTheDaemonExports) {
  const auto d = dashboard();
  ASSERT_TRUE(d.is_object()) << "config/grafana/hftguard.json is not JSON";
  control::Telemetry t("test");
  control::Telemetry::State state;
  std::string why;
  auto expo = control::parseExposition(t.render(state), &why);
  ASSERT_TRUE(expo) << why;
  const std::regex name(R"(\bhftguard_[a-z_]+)");
  std::set<std::string> used;
  for (const auto& q : queries(d)) {
    for (std::sregex_iterator it(q.begin(), q.end(), name), end; it != end; ++it) {
      std::string n = it->str();
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string s(suffix);
        if (n.ends_with(s) && expo->types.count(n.substr(0, n.size() - s.size())) &&
            expo->types[n.substr(0, n.size() - s.size())] == "histogram") {
          n = n.substr(0, n.size() - s.size());
        }
      }
      EXPECT_TRUE(expo->types.count(n)) << q << ": " << n << " is not exported";
      if (n.ends_with("_bucket") || n.ends_with("_sum") || n.ends_with("_count")) {
        ADD_FAILURE() << n << " read as a histogram series of a family that is not one";
      }
      used.insert(n);
    }
  }
  // What the dashboard is for (the issue's list): failovers, RTO against target, component
  // health, probe latency, alert failures.
  for (const char* needed :
       {"hftguard_failovers_total", "hftguard_failover_rto_seconds", "hftguard_rto_target_seconds",
        "hftguard_component_health", "hftguard_check_latency_seconds", "hftguard_alerts_total"}) {
    EXPECT_TRUE(used.count(needed)) << "the dashboard does not show " << needed;
  }
}

TEST(Dashboard, PanelsHaveQueriesAndUniqueIds) {
  const auto d = dashboard();
  ASSERT_TRUE(d.is_object());
  std::set<int> ids;
  for (const auto& p : d["panels"]) {
    EXPECT_TRUE(ids.insert(p["id"].get<int>()).second) << "panel id " << p["id"] << " twice";
    EXPECT_FALSE(p.value("targets", nlohmann::json::array()).empty()) << p["title"];
  }
  EXPECT_GE(ids.size(), 5u);
}

// The status page renders the /status document: components, roles, pause, the last failover
// with its steps - and escapes every text that came from a target or an operator.

#include <gtest/gtest.h>

#include "hftguard/control/status_page.hpp"

using namespace hftguard;

TEST(StatusPage, ShowsTheStateAndEscapesWhatTargetsSaid) {
  nlohmann::json s = {
      {"node", "n1"},
      {"version", "1.0"},
      {"coordination", {{"type", "local"}, {"leader", "n1"}, {"leading", true}}},
      {"paused", {{"owner", "alice"}, {"reason", "<b>upgrade</b>"}}},
      {"maintenance", nlohmann::json::array()},
      {"components",
       {{"engine",
         {{"health", "failed"},
          {"roles", {{"primary", "engine_b"}, {"fenced", {"engine_a"}}, {"epoch", 3}}},
          {"standby", {{"member", "engine_a"}, {"ready", false}, {"why", "engine_a is fenced"}}},
          {"checks",
           {{{"name", "health"}, {"status", "failed"}, {"reason", "<script>alert(1)</script>"}}}},
          {"last_failover",
           {{"outcome", "completed"},
            {"plan", "move"},
            {"rto_ms", 236.0},
            {"rto_target_ms", 30000.0},
            {"rto_met", true},
            {"steps",
             {{{"step", "promote"}, {"action", "http_request"}, {"result", "done"},
               {"duration_ms", 12.0}}}}}}}}}}};
  const std::string h = control::renderStatusPage(s);
  EXPECT_NE(h.find("data-component=\"engine\""), std::string::npos);
  EXPECT_NE(h.find("class=\"failed\""), std::string::npos);
  EXPECT_NE(h.find("engine_b"), std::string::npos);
  EXPECT_NE(h.find("PAUSED by alice"), std::string::npos);
  EXPECT_NE(h.find("RTO 236 ms (target 30000 ms)"), std::string::npos);
  EXPECT_NE(h.find("<td>promote</td>"), std::string::npos);
  EXPECT_EQ(h.find("<script>"), std::string::npos) << "a target's text became markup";
  EXPECT_NE(h.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(h.find("<b>upgrade</b>"), std::string::npos);
}

TEST(StatusPage, AnEmptyOrOddDocumentStillRenders) {
  EXPECT_NE(control::renderStatusPage(nlohmann::json::object()).find("</html>"), std::string::npos);
  nlohmann::json odd = {{"components", {{"x", {{"health", 3}, {"roles", "?"}, {"checks", 5}}}}}};
  EXPECT_NE(control::renderStatusPage(odd).find("data-component=\"x\""), std::string::npos);
}

// Members and roles in the config: each check is read once per member in the role it
// addresses, with that member's values filled in and validated; plans' member placeholders
// are checked against every member of the components that run them.

#include <gtest/gtest.h>

#include "hftguard/config/loader.hpp"

#include "test_env.hpp"

using namespace hftguard::config;

namespace {

const char* kHead = R"(
node: { name: n1 }
event_log: { path: /tmp/e.json }
plans:
  move:
    steps:
      - action: http_request
        url: http://{new_primary.api}/admin/promote?epoch={epoch}
      - action: http_request
        url: http://{old_primary.api}/admin/demote
)";

LoadResult loadText(const std::string& components) {
  return loadConfigString(std::string(kHead) + components, "c.yaml",
                          hftguard::testing::testEnv());
}

std::string errors(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.format() + "\n";
  return out;
}

const char* kEngine = R"(
components:
  engine:
    tier: hot
    rto_target: 30s
    plan: move
    members:
      a: { host: 10.0.0.1, api: 10.0.0.1:8080, port: 8080 }
      b: { host: 10.0.0.2, api: 10.0.0.2:8081, port: 8081 }
    primary: a
    checks:
      health:
        type: http
        url: http://{primary.api}/health
      port:
        type: tcp
        host: "{primary.host}"
        port: "{primary.port}"
    standby_checks:
      ready:
        type: http
        url: http://{standby.api}/health
)";

TEST(Members, EachCheckIsReadForEveryMemberInItsRole) {
  auto r = loadText(kEngine);
  ASSERT_TRUE(r.config) << errors(r);
  const ComponentConfig& c = *r.config->findComponent("engine");
  ASSERT_EQ(c.members.size(), 2u);
  EXPECT_EQ(c.members[1].host(), "10.0.0.2");
  EXPECT_EQ(c.primary, "a");
  EXPECT_EQ(c.standby, "b");  // the other member, when not named
  // What runs at first: the primary's checks against a, the standby's against b.
  ASSERT_EQ(c.checks.size(), 3u);
  EXPECT_EQ(c.checks[0].params.str("url"), "http://10.0.0.1:8080/health");
  EXPECT_EQ(c.checks[1].params.integer("port"), 8080);  // parsed after it was filled
  EXPECT_EQ(c.checks[2].params.str("url"), "http://10.0.0.2:8081/health");
  EXPECT_FALSE(c.checks[0].informational);
  EXPECT_TRUE(c.checks[2].informational);  // readiness never fails the component over
  // The roles reversed: same names, other targets.
  auto swapped = c.checksFor("b", "a");
  ASSERT_EQ(swapped.size(), 3u);
  EXPECT_EQ(swapped[0]->name, "health");
  EXPECT_EQ(swapped[0]->params.str("url"), "http://10.0.0.2:8081/health");
  EXPECT_EQ(swapped[1]->params.integer("port"), 8081);
  EXPECT_EQ(swapped[2]->params.str("url"), "http://10.0.0.1:8080/health");
  EXPECT_EQ(c.checksFor("zz", "a")[0], nullptr);
}

TEST(Members, AMembersMissingValueIsAnErrorAtThePlaceholder) {
  std::string text = kEngine;
  text.replace(text.find("b: { host: 10.0.0.2, api: 10.0.0.2:8081, port: 8081 }"),
               std::string("b: { host: 10.0.0.2, api: 10.0.0.2:8081, port: 8081 }").size(),
               "b: { host: 10.0.0.2, port: 8081 }");
  auto r = loadText(text);
  ASSERT_FALSE(r.config);
  const std::string e = errors(r);
  EXPECT_NE(e.find("url: member b has no 'api' (it has host, name, port)"), std::string::npos)
      << e;
  // The plan's {new_primary.api}/{old_primary.api}: b cannot fill them either.
  EXPECT_NE(e.find("plans.move.http_request-1: {*_primary.api}: member b of engine has no 'api'"),
            std::string::npos)
      << e;
}

TEST(Members, ValuesAreValidatedAsFilledAndTheWrongRoleIsNamed) {
  std::string text = kEngine;
  text.replace(text.find("port: 8081 }"), std::string("port: 8081 }").size(), "port: http }");
  text.replace(text.find("url: http://{standby.api}/health"),
               std::string("url: http://{standby.api}/health").size(),
               "url: http://{primary.api}/health");
  auto r = loadText(text);
  ASSERT_FALSE(r.config);
  const std::string e = errors(r);
  EXPECT_NE(e.find("port: expected an integer"), std::string::npos) << e;  // b's "http"
  EXPECT_NE(e.find("{primary.api} - standby_checks address the standby: use {standby.api}"),
            std::string::npos)
      << e;
}

TEST(Members, TimingIsTheChecksAndFollowingAStoresHaExcludesMembers) {
  std::string text = kEngine;
  text.replace(text.find("        url: http://{standby.api}/health"),
               std::string("        url: http://{standby.api}/health").size(),
               "        url: http://{standby.api}/health\n        interval: \"{standby.port}ms\"");
  text += "    follow: {type: sentinel, sentinels: ['127.0.0.1:1'], master_name: m}\n";
  auto r = loadText(text);
  ASSERT_FALSE(r.config);
  const std::string e = errors(r);
  EXPECT_NE(e.find("interval: member placeholders go in a check's own keys"), std::string::npos)
      << e;
  EXPECT_NE(e.find("follow: a component that follows its store's own HA cannot also have members"),
            std::string::npos)
      << e;
}

TEST(Members, RolesNeedMembersAndNameThem) {
  auto r = loadText(R"(
components:
  engine:
    tier: hot
    rto_target: 30s
    plan: move
    primary: x
    checks:
      health: { type: http, url: "http://{primary.api}/health" }
    standby_checks:
      ready: { type: http, url: "http://h/health" }
  other:
    tier: hot
    rto_target: 30s
    plan: move
    members:
      a: { host: h1, api: h1:1 }
      b: { api: h2:1 }
    primary: c
    checks:
      health: { type: http, url: "http://{primary.api}/health" }
)");
  ASSERT_FALSE(r.config);
  const std::string e = errors(r);
  for (const char* want :
       {"{primary.*}/{standby.*} address members; components.engine has none",
        "standby_checks: standby checks address members; define members",
        "{*_primary.api} needs members, and component engine (which runs this plan) has none",
        "components.other.members.b: missing required key 'host'",
        "primary: no member named 'c'"}) {
    EXPECT_NE(e.find(want), std::string::npos) << want << "\n" << e;
  }
}

}  // namespace

namespace {

TEST(Switchover, ItsPlansAreReadAndHealthyWithinDefaultsTo30s) {
  std::string text = kEngine;
  text.replace(text.find("    primary: a\n"), 0,
               "    switchover: {plan: move, pre_checks: move, post_checks: move}\n");
  auto r = loadText(text);
  ASSERT_TRUE(r.config) << errors(r);
  const ComponentConfig& c = *r.config->findComponent("engine");
  ASSERT_TRUE(c.switchover);
  EXPECT_EQ(c.switchover->plan, "move");
  EXPECT_EQ(c.switchover->pre_checks, "move");
  EXPECT_EQ(c.switchover->post_checks, "move");
  EXPECT_EQ(c.switchover->healthy_within, std::chrono::seconds(30));
  EXPECT_FALSE(r.config->findComponent("engine")->switchover->where.line == 0);

  text = kEngine;
  text.replace(text.find("    primary: a\n"), 0,
               "    switchover: {plan: move, healthy_within: 2m}\n");
  r = loadText(text);
  ASSERT_TRUE(r.config) << errors(r);
  EXPECT_EQ(r.config->findComponent("engine")->switchover->healthy_within,
            std::chrono::minutes(2));
  EXPECT_TRUE(r.config->findComponent("engine")->switchover->pre_checks.empty());
}

TEST(Switchover, UnknownPlansMissingMembersAndBadValuesAreErrors) {
  std::string text = kEngine;
  text.replace(text.find("    primary: a\n"), 0,
               "    switchover: {plan: swap, pre_checks: pre, healthy_within: 0s, extra: 1}\n");
  auto r = loadText(text);
  ASSERT_FALSE(r.config);
  const std::string e = errors(r);
  for (const char* want : {"switchover.plan", "'swap'", "'pre'", "healthy_within", "'extra'"}) {
    EXPECT_NE(e.find(want), std::string::npos) << want << "\n" << e;
  }
  auto bare = loadText(R"(
components:
  feed:
    tier: hot
    rto_target: 30s
    plan: move
    switchover: {plan: move}
    checks:
      health: {type: http, url: 'http://127.0.0.1:1/health'}
)");
  ASSERT_FALSE(bare.config);
  EXPECT_NE(errors(bare).find("components.feed.switchover: a switchover moves the primary role "
                              "to another member; define members"),
            std::string::npos)
      << errors(bare);
  std::string slow = kEngine;
  slow.replace(slow.find("    primary: a\n"), 0, "    switchover: {plan: move, healthy_within: 2s}\n");
  slow.replace(slow.find("url: http://{primary.api}/health"), 0, "interval: 5s\n        ");
  auto tooShort = loadText(slow);
  ASSERT_FALSE(tooShort.config);
  EXPECT_NE(errors(tooShort).find("healthy_within: 2s must exceed the longest check interval (5s)"),
            std::string::npos)
      << errors(tooShort);
  auto missing = loadText(std::string(kEngine).replace(
      std::string(kEngine).find("    primary: a\n"), 0, "    switchover: {pre_checks: move}\n"));
  ASSERT_FALSE(missing.config);
  EXPECT_NE(errors(missing).find("plan"), std::string::npos) << errors(missing);
}

}  // namespace

// What a reload may change in place and what only a restart applies (config/reload.hpp).

#include "hftguard/config/reload.hpp"

#include <gtest/gtest.h>

#include "hftguard/config/loader.hpp"

#include "test_env.hpp"

using namespace hftguard::config;

namespace {

const std::string kBase = R"(node: { name: n1 }
event_log: { path: /tmp/e.json }
control_api: { listen: 'off', socket: /tmp/hg.sock }
alerts:
  channels:
    ops: { type: slack, webhook_url: '${HFTGUARD_TEST_TOKEN}' }
plans:
  move:
    steps:
      - action: http_request
        url: http://{new_primary.api}/promote
  restart:
    steps:
      - { action: http_request, url: 'http://127.0.0.1:1/restart' }
components:
  engine:
    tier: hot
    rto_target: 30s
    plan: move
    members:
      a: { host: 127.0.0.1, api: '127.0.0.1:8080' }
      b: { host: 127.0.0.2, api: '127.0.0.2:8080' }
    primary: a
    checks:
      health: { type: http, url: 'http://{primary.api}/health', interval: 1s, fall: 3 }
      port: { type: tcp, host: '{primary.host}', port: 8080, interval: 1s }
  feed:
    tier: hot
    rto_target: 15s
    plan: restart
    checks:
      fresh: { type: http, url: 'http://127.0.0.1:9100/fresh', interval: 1s }
)";

std::shared_ptr<const Config> load(const std::string& text) {
  auto r = loadConfigString(text, "c.yaml", hftguard::testing::testEnv());
  for (const auto& e : r.errors) ADD_FAILURE() << e.format();
  return r.config;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

ReloadDiff diff(const std::string& next) {
  auto a = load(kBase);
  auto b = load(next);
  if (!a || !b) return {};
  return diffForReload(*a, *b);
}

TEST(ReloadDiff, LayoutAloneIsNoChange) {
  // Comments and blank lines move every item's line: nothing it means changed.
  const auto d = diff("# reloaded\n\n" + replaced(kBase, "  feed:\n", "\n  # the feed\n  feed:\n"));
  EXPECT_TRUE(d.restart_only.empty());
  EXPECT_TRUE(d.changes.empty());
  auto a = load(kBase);
  auto b = load("\n\n" + kBase);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(sameCheck(a->components[0].checks[0], b->components[0].checks[0]));
}

TEST(ReloadDiff, ChecksThresholdsAndPlansChangeInPlace) {
  std::string next = replaced(kBase, "interval: 1s, fall: 3 }", "interval: 1s, fall: 5 }");
  next = replaced(next, "'http://127.0.0.1:1/restart' }", "'http://127.0.0.1:2/restart' }");
  next = replaced(next, "    rto_target: 15s\n", "    rto_target: 10s\n");
  next += "      lag: { type: http, url: 'http://127.0.0.1:9100/lag', interval: 2s }\n";
  const auto d = diff(next);
  EXPECT_TRUE(d.restart_only.empty()) << ::testing::PrintToString(d.restart_only);
  const std::vector<std::string> want = {"components.engine.checks.health changed",
                                         "components.feed.checks.lag added",
                                         "components.feed settings", "plans.restart changed"};
  EXPECT_EQ(d.changes, want);
}

TEST(ReloadDiff, AComponentWithoutRolesComesAndGoes) {
  std::string next = replaced(kBase, "  feed:\n", "  book:\n");
  const auto d = diff(next);
  EXPECT_TRUE(d.restart_only.empty());
  const std::vector<std::string> want = {"components.book added", "components.feed removed"};
  EXPECT_EQ(d.changes, want);
}

TEST(ReloadDiff, WhatOnlyARestartAppliesIsNamedEachByItsKey) {
  struct Case {
    std::string from, to, key;
  };
  const Case cases[] = {
      {"node: { name: n1 }", "node: { name: n2 }", "node"},
      {"path: /tmp/e.json", "path: /tmp/f.json", "event_log.path"},
      {"socket: /tmp/hg.sock", "socket: /tmp/other.sock", "control_api"},
      {"webhook_url: '${HFTGUARD_TEST_TOKEN}' }",
       "webhook_url: '${HFTGUARD_TEST_TOKEN}', min_severity: critical }", "alerts"},
      {"b: { host: 127.0.0.2,", "c: { host: 127.0.0.2,", "components.engine.members"},
      {"    primary: a\n", "    primary: b\n", "components.engine.primary"},
  };
  for (const Case& c : cases) {
    const auto d = diff(replaced(kBase, c.from, c.to));
    EXPECT_NE(std::find(d.restart_only.begin(), d.restart_only.end(), c.key), d.restart_only.end())
        << c.key << ": " << ::testing::PrintToString(d.restart_only);
  }
  // A component with members added, or removed, is a restart too (its roles are read at start).
  const auto gone = diff(replaced(kBase, "  engine:\n", "  engine2:\n"));
  EXPECT_EQ(gone.restart_only.size(), 2u) << ::testing::PrintToString(gone.restart_only);
  const auto coordinated = diff(kBase + "coordination: { type: etcd, endpoints: ['http://127.0.0.1:2379'] }\n");
  EXPECT_EQ(coordinated.restart_only, std::vector<std::string>{"coordination"});
}

}  // namespace

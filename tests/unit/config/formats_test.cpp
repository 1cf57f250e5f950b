// The forms each formatted value accepts: the rejections are in tests/data/config/bad/
// (51..58); here, what must keep loading.

#include <string>

#include <gtest/gtest.h>

#include "hftguard/config/loader.hpp"

#include "test_env.hpp"

namespace {

using hftguard::config::loadConfigString;
using hftguard::testing::testEnv;

std::string withStep(const std::string& checks, const std::string& steps) {
  return "node: {name: n1}\n"
         "components:\n  engine:\n    tier: hot\n    rto_target: 30s\n    plan: p\n"
         "    checks:\n" +
         checks + "plans:\n  p:\n    steps:\n" + steps;
}

std::string errorsOf(const std::string& yaml) {
  std::string out;
  for (const auto& e : loadConfigString(yaml, "t.yaml", testEnv()).errors) out += e.format() + "\n";
  return out;
}

TEST(ConfigFormats, AcceptsEveryFormOfHostAndAddress) {
  const std::string checks =
      "      a: {type: tcp, host: '::1', port: 1}\n"
      "      b: {type: tcp, host: '[fe80::1%eth0]', port: 1}\n"
      "      c: {type: tcp, host: db-1.hft.local., port: 1}\n"
      "      d: {type: postgres, host: /var/run/postgresql, user: postgres}\n"
      "      e: {type: http, url: 'http://user:pw@[::1]:8080/x?y=1#z'}\n";
  const std::string steps =
      "      - {action: redis_sentinel, sentinels: ['[::1]:26379', 'sentinel-1:26379'], "
      "master_name: m}\n"
      "      - {action: http_request, url: 'http://{new_primary}:8008/promote', "
      "body: '{\"a\": {\"b\": \"{old_primary}\"}}', content_type: 'text/plain; charset=utf-8'}\n"
      "      - {action: exec, argv: [/usr/bin/env, ''], env: {PGHOST: '{new_primary}'}}\n"
      "      - {action: dns, api_url: 'http://127.0.0.1:8081', api_key: '${HFTGUARD_TEST_TOKEN}',"
      " zone: hft.local., record: '{component}.hft.local.', content: '{new_primary}'}\n";
  EXPECT_EQ(errorsOf(withStep(checks, steps)), "");
}

TEST(ConfigFormats, AcceptsNamedAddressesAndScheduledTimes) {
  const std::string steps =
      "      - {action: patroni, urls: ['https://pg-1:8008'], operation: switchover, "
      "scheduled_at: '2026-01-31T22:00:00+01:00', user: postgres}\n";
  const std::string alerts =
      "alerts:\n  channels:\n    mail: {type: email, smtp_url: 'smtps://mx.hft.local', "
      "from: 'hftguard <hftguard@hft.local>', to: [ops@hft.local, 'Risk Desk <risk@hft.local>']}\n";
  EXPECT_EQ(errorsOf(withStep("      h: {type: http, url: 'http://e:1/'}\n", steps) + alerts), "");
}

}  // namespace

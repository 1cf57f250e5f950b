// The valid configs: values, defaults and inheritance as the daemon will see them.

#include "hftguard/config/loader.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "hftguard/config/schema.hpp"

#include "test_env.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace hftguard::config;

namespace {

using hftguard::testing::testEnv;

const fs::path kRoot = HFTGUARD_SOURCE_DIR;

std::shared_ptr<const Config> load(const fs::path& p) {
  LoadResult r = loadConfigFile(p.string(), testEnv());
  for (const auto& e : r.errors) ADD_FAILURE() << e.format();
  return r.config;
}

TEST(ExampleConfig, CoversTheRunbooksSlaMatrix) {
  auto cfg = load(kRoot / "config/hftguard.example.yaml");
  ASSERT_TRUE(cfg);
  struct Row {
    const char* name;
    Tier tier;
    hftguard::Duration rto;
    Automation automation;
  };
  const Row matrix[] = {
      {"trading_engine", Tier::Hot, 30s, Automation::Full},
      {"market_data", Tier::Hot, 15s, Automation::Full},
      {"order_management", Tier::Warm, 60s, Automation::Semi},
      {"risk_engine", Tier::Warm, 60s, Automation::Semi},
      {"database", Tier::Warm, 120s, Automation::Full},
      {"redis", Tier::Hot, 5s, Automation::Full},
      {"load_balancer", Tier::Hot, 1s, Automation::Manual},
      {"analytics", Tier::Cold, 15min, Automation::Manual},
      {"reporting", Tier::Cold, 30min, Automation::Manual},
  };
  EXPECT_EQ(cfg->components.size(), std::size(matrix));
  for (const Row& row : matrix) {
    const ComponentConfig* c = cfg->findComponent(row.name);
    ASSERT_NE(c, nullptr) << row.name;
    EXPECT_EQ(c->tier, row.tier) << row.name;
    EXPECT_EQ(c->rto_target, row.rto) << row.name;
    EXPECT_EQ(c->automation, row.automation) << row.name;
    if (c->automation != Automation::Manual) {
      EXPECT_NE(cfg->findPlan(c->plan), nullptr);
    }
  }
}

TEST(ExampleConfig, ChecksInheritTheirLayerUnlessOverridden) {
  auto cfg = load(kRoot / "config/hftguard.example.yaml");
  ASSERT_TRUE(cfg);
  const ComponentConfig& engine = *cfg->findComponent("trading_engine");
  EXPECT_EQ(engine.findCheck("process")->layer, Layer::Process);
  EXPECT_EQ(engine.findCheck("process")->interval, 1s);
  EXPECT_EQ(engine.findCheck("health")->layer, Layer::Service);
  EXPECT_EQ(engine.findCheck("health")->interval, 2s);
  EXPECT_EQ(engine.findCheck("health")->params.duration("max_latency"), 1000ms);
  EXPECT_EQ(engine.findCheck("trading_enabled")->interval, 5s);
  EXPECT_EQ(engine.findCheck("test_order")->interval, 10s);
  EXPECT_EQ(engine.findCheck("test_order")->timeout, 5s);
  EXPECT_TRUE(engine.findCheck("last_order_age")->informational);
  const CheckConfig& risk = *cfg->findComponent("risk_engine")->findCheck("health");
  EXPECT_EQ(risk.interval, 1s);
  EXPECT_EQ(risk.timeout, 500ms);
  const CheckConfig& oms = *cfg->findComponent("order_management")->findCheck("health");
  EXPECT_EQ(oms.fall, 5);
  EXPECT_EQ(oms.rise, 3);
  EXPECT_EQ(cfg->findComponent("analytics")->findCheck("health")->interval, 5s);
}

TEST(ExampleConfig, TriggersPlansAndChannels) {
  auto cfg = load(kRoot / "config/hftguard.example.yaml");
  ASSERT_TRUE(cfg);
  const ComponentConfig& engine = *cfg->findComponent("trading_engine");
  EXPECT_EQ(engine.triggers.latency.above, 1000ms);
  EXPECT_EQ(engine.triggers.latency.check, "health");
  EXPECT_DOUBLE_EQ(engine.triggers.error_rate.above, 0.05);
  EXPECT_EQ(engine.triggers.error_rate.window, 1min);
  EXPECT_DOUBLE_EQ(engine.triggers.cpu.above, 0.95);
  EXPECT_EQ(engine.triggers.cpu.sustained_for, 5min);
  EXPECT_EQ(engine.cooldown, 300s);
  EXPECT_EQ(engine.flap_damping.half_life, 15min);

  const PlanConfig& plan = *cfg->findPlan("trading_engine_failover");
  ASSERT_EQ(plan.steps.size(), 10u);
  EXPECT_EQ(plan.steps[0].name, "verify_primary_down");
  EXPECT_EQ(plan.steps[0].params.str("expect"), "down");
  EXPECT_EQ(plan.steps[2].action, "fence");
  EXPECT_EQ(plan.steps[3].retries, 2);
  EXPECT_EQ(plan.steps[5].on_failure, OnFailure::Continue);
  EXPECT_EQ(plan.steps[6].params.str("value"), "{new_primary}");  // filled in at run time
  EXPECT_EQ(cfg->findPlan("market_data_failover")->steps[1].name, "haproxy-2");

  EXPECT_EQ(cfg->system.plan, "site_failover");
  EXPECT_EQ(cfg->system.min_failed_components, 3);
  const ChannelConfig& pd = *cfg->findChannel("pagerduty");
  EXPECT_EQ(pd.min_severity, Severity::Critical);
  EXPECT_EQ(pd.params.secret("routing_key").reveal(), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(cfg->findComponent("market_data")->alert_channels,
            (std::vector<std::string>{"slack", "pagerduty", "email"}));
}

TEST(MinimalConfig, GetsEveryDefault) {
  auto cfg = load(kRoot / "tests/data/config/good/minimal.yaml");
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->node.site, "default");
  EXPECT_EQ(cfg->log_level, "info");
  EXPECT_EQ(cfg->event_log_path, "/var/log/hftguard/failover_events.json");
  EXPECT_EQ(cfg->probes.of(Layer::Process).interval, 1s);
  EXPECT_EQ(cfg->probes.of(Layer::Service).interval, 2s);
  EXPECT_EQ(cfg->probes.of(Layer::Business).interval, 5s);
  EXPECT_EQ(cfg->probes.of(Layer::EndToEnd).interval, 10s);
  EXPECT_EQ(cfg->probes.fall, 3);
  EXPECT_EQ(cfg->probes.rise, 2);
  const ComponentConfig& c = cfg->components.at(0);
  EXPECT_EQ(c.automation, Automation::Full);
  EXPECT_EQ(c.cooldown, 300s);
  EXPECT_TRUE(c.triggers.latency.enabled);
  EXPECT_EQ(c.triggers.latency.above, 1000ms);
  EXPECT_TRUE(c.flap_damping.enabled);
  EXPECT_DOUBLE_EQ(c.flap_damping.suppress_above, 2000);
  const CheckConfig& check = c.checks.at(0);
  EXPECT_TRUE(check.params.flag("tls_verify"));
  EXPECT_EQ(check.params.integer("expect_status"), 200);
  EXPECT_EQ(check.params.str("method"), "GET");
  EXPECT_EQ(cfg->plans.at(0).steps.at(0).timeout, 10s);
  EXPECT_EQ(cfg->coordination.type, "local");
  EXPECT_EQ(cfg->control_api.listen, "127.0.0.1:9477");
  EXPECT_EQ(cfg->control_api.socket, "/run/hftguard/control.sock");
  EXPECT_FALSE(cfg->control_api.allow_remote);
}

TEST(FullConfig, ReadsTheRemainingForms) {
  auto cfg = load(kRoot / "tests/data/config/good/full.yaml");
  ASSERT_TRUE(cfg);
  const ComponentConfig& c = cfg->components.at(0);
  EXPECT_EQ(c.findCheck("api")->interval, 10ms);
  EXPECT_EQ(c.findCheck("api")->params.map("headers").at("X-Probe"), "hftguard");
  EXPECT_EQ(c.findCheck("by_cmdline")->params.integer("min_count"), 2);
  EXPECT_EQ(c.findCheck("by_cmdline")->params.list("cmdline"),
            (std::vector<std::string>{"engine_sim", "--role", "primary"}));
  EXPECT_EQ(c.findCheck("pg")->params.integer("reconnect_every"), 10);
  EXPECT_EQ(c.findCheck("by_pidfile")->params.has("cmdline"), false);
  EXPECT_FALSE(c.triggers.latency.enabled);
  EXPECT_EQ(c.triggers.error_rate.check, "api");
  EXPECT_EQ(c.cooldown, 0s);
  EXPECT_TRUE(c.alert_channels.empty());
  EXPECT_EQ(cfg->coordination.type, "etcd");
  EXPECT_EQ(cfg->coordination.endpoints.size(), 2u);
  EXPECT_EQ(cfg->coordination.lease_ttl, 20s);
  EXPECT_EQ(cfg->coordination.password->describe(), "env HFTGUARD_TEST_TOKEN");
  EXPECT_EQ(cfg->coordination.ca_file, "/etc/hftguard/etcd-ca.crt");
  EXPECT_EQ(cfg->coordination.cert_file, "/etc/hftguard/etcd-client.crt");
  EXPECT_EQ(cfg->coordination.key_file, "/etc/hftguard/etcd-client.key");
  EXPECT_FALSE(cfg->control_api.enabled);
  EXPECT_EQ(cfg->control_api.listen, "");  // 'off'
  EXPECT_EQ(cfg->control_api.socket, "/run/hftguard/ctl.sock");
  EXPECT_EQ(cfg->plans.at(0).steps.at(1).params.list("sentinels").at(1), "[::1]:26380");
}

// A promotion without proof about the old primary is refused unless a step opts out, and a
// standby is fresh when its WAL receiver heard from its primary within max_staleness.
TEST(FullConfig, PromotionProofAndStalenessKeys) {
  auto cfg = load(kRoot / "tests/data/config/good/full.yaml");
  ASSERT_TRUE(cfg);
  std::map<std::string, const Params*> byAction;
  for (const auto& s : cfg->plans.at(0).steps) byAction[s.action] = &s.params;
  ASSERT_TRUE(byAction.count("pg_promote") && byAction.count("patroni"));
  EXPECT_TRUE(byAction["patroni"]->flag("allow_unfenced"));
  EXPECT_FALSE(byAction["pg_promote"]->flag("allow_unfenced"));  // the default
  EXPECT_EQ(byAction["pg_promote"]->duration("max_staleness"), 20s);
  auto minimal = loadConfigString(
      "node: {name: n1}\nplans:\n  p: {steps: [{action: pg_promote, host: h, user: u}]}\n"
      "components:\n  c: {tier: cold, rto_target: 1m, checks: {t: {type: tcp, host: h, port: "
      "1}}}\n",
      "m.yaml");
  ASSERT_TRUE(minimal.ok()) << minimal.errors.at(0).format();
  EXPECT_EQ(minimal.config->plans.at(0).steps.at(0).params.duration("max_staleness"), 45s);
}

TEST(DrillConfig, ThePartitionDrillsNamespaceHistoriesAndCalm) {
  auto cfg = load(kRoot / "tests/data/config/good/drill-partition.yaml");
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->drill_options.netns, "hg1c");
  EXPECT_EQ(cfg->drill_options.histories,
            (std::vector<std::string>{"/tmp/lab/h1/history", "/tmp/lab/h2/history"}));
  const DrillScenario* observer = cfg->findScenario("partition-observer");
  ASSERT_NE(observer, nullptr);
  EXPECT_EQ(observer->calm, DrillScenario::Calm::NoFailover);
  const DrillScenario* blip = cfg->findScenario("blip");
  ASSERT_NE(blip, nullptr);
  EXPECT_EQ(blip->calm, DrillScenario::Calm::NoTrigger);  // the default
  // Without them: no namespace, no histories.
  auto sandbox = load(kRoot / "config/sandbox.yaml");
  ASSERT_TRUE(sandbox);
  EXPECT_TRUE(sandbox->drill_options.netns.empty());
  EXPECT_TRUE(sandbox->drill_options.histories.empty());
}

// Every key of the schema appears in at least one valid config, so every option is read by
// a test at least once (the bad configs test the ways it can be wrong).
TEST(ConfigCoverage, EveryKeyIsUsedInAValidConfig) {
  std::set<std::string> used;
  std::function<void(const YAML::Node&)> walk = [&](const YAML::Node& n) {
    if (n.IsMap()) {
      for (auto it = n.begin(); it != n.end(); ++it) {
        used.insert(it->first.Scalar());
        walk(it->second);
      }
    } else if (n.IsSequence()) {
      for (const auto& item : n) walk(item);
    }
  };
  for (const fs::path& dir : {kRoot / "config", kRoot / "tests/data/config/good"}) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() != ".yaml") continue;
      ASSERT_TRUE(load(entry.path())) << entry.path();
      walk(YAML::LoadFile(entry.path().string()));
    }
  }
  auto check = [&](const KeySpec& k, const std::string& where) {
    const std::string key(k.key);
    const bool ok =
        used.count(key) || (k.kind == ValueKind::SecretRef && used.count(key + "_file"));
    EXPECT_TRUE(ok) << "no valid config uses `" << key << "` (" << where << ")";
  };
  for (const auto& s : sections()) {
    for (const auto& k : s.keys) check(k, std::string(s.path));
  }
  for (const auto& kind : kinds()) {
    for (const auto& k : kind.keys)
      check(k, std::string(kind.family) + " " + std::string(kind.type));
  }
}

}  // namespace

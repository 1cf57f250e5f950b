// The runbook's trading-engine failover as a plan, against a real HAProxy (a frontend over
// two engine simulators), a real etcd and a real Redis.

#include <fstream>

#include <gtest/gtest.h>

#include "hftguard/actions/runner.hpp"
#include "hftguard/core/base64.hpp"

#include "http_receiver.hpp"
#include "probe_harness.hpp"
#include "servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

namespace {

struct Recorded {
  std::string type;
  std::string reason;
  nlohmann::json fields;
};

class Stack {
 public:
  Stack()
      : primary_("primary", redis_.port()),
        standby_("standby"),
        haproxy_(primary_.port(), standby_.port()) {
    etcd_.put("service/trading/primary", "primary.hft.local");
  }
  std::string frontend(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(haproxy_.frontendPort()) + path;
  }
  // The fault of whichever engine the frontend sends traffic to.
  std::string servedBy() const {
    auto state = httpGet(frontend("/admin/state"));
    return state ? nlohmann::json::parse(*state, nullptr, false).value("fault", std::string("?"))
                 : "no answer";
  }

  RedisServer redis_;
  EngineSim primary_;
  EngineSim standby_;
  HaproxyServer haproxy_;
  EtcdServer etcd_;
};

std::string tradingPlan(const Stack& s, const std::string& lbServer = "primary") {
  const std::string admin = s.haproxy_.adminSocket();
  const std::string etcd = s.etcd_.endpoint();
  return "plans:\n  trading:\n    steps:\n"
         "      - {name: verify_primary_down, action: http_check, url: '" +
         s.primary_.url("/health") +
         "', expect: down}\n"
         "      - {name: verify_standby_up, action: http_check, url: '" +
         s.standby_.url("/health") +
         "', expect: up}\n"
         "      - {name: promote_standby, action: http_request, url: '" +
         s.standby_.url("/admin/promote") +
         "', body: '{\"reason\": \"{reason}\"}'}\n"
         "      - {name: lb_drain_primary, action: haproxy, socket: '" +
         admin + "', backend: trading, server: " + lbServer +
         ", state: maint}\n"
         "      - {name: lb_enable_standby, action: haproxy, socket: '" +
         admin +
         "', backend: trading, server: standby, state: ready, weight: 100}\n"
         "      - {name: wait_frontend, action: http_check, url: '" +
         s.frontend("/health") +
         "', expect: up, wait_until: true, poll_interval: 50ms, timeout: 5s}\n"
         "      - {name: discovery_primary, action: kv_put, store: etcd, endpoints: ['" +
         etcd +
         "'], key: service/trading/primary, value: '{new_primary}', prev_value: '{old_primary}'}\n"
         "      - {name: discovery_timestamp, action: kv_put, store: etcd, endpoints: ['" +
         etcd +
         "'], key: service/trading/failover_timestamp, value: '{timestamp}'}\n"
         "      - {name: maintenance_off, action: redis_set, host: 127.0.0.1, port: " +
         std::to_string(s.redis_.port()) +
         ", key: 'system:maintenance_mode', value: 'false'}\n"
         "      - {name: test_order, action: e2e_order, url: '" +
         s.frontend("/api/orders/test") + "'}\n";
}

const std::string kComponent =
    "components:\n  trading_engine:\n    tier: hot\n    rto_target: 30s\n    plan: trading\n"
    "    primary: primary.hft.local\n    standby: standby.hft.local\n"
    "    checks: {h: {type: tcp, host: 127.0.0.1, port: 1}}\n";

class PlanHarness {
 public:
  explicit PlanHarness(const std::string& plans, const std::string& components = kComponent)
      : cfg_(load(plans + components)),
        env_{io_, http_, workers_, clock_},
        coordinator_(coord::makeLocalCoordinator(dir_.path())),
        runner_(env_, *coordinator_,
                [this](const std::string& type, const std::string&, const std::string& reason,
                       nlohmann::json fields) {
                  events.push_back({type, reason, fields});
                }) {}

  actions::RunReport run(bool dry_run, const std::string& plan = "trading") {
    actions::RunRequest r;
    r.component = "trading_engine";
    r.plan = cfg_->findPlan(plan);
    r.dry_run = dry_run;
    r.rto_target = 30s;
    r.first_failure = clock_.wallNow() - std::chrono::seconds(2);
    r.context = {"trading_engine", "n1", "primary.hft.local", "standby.hft.local", {}, {},
                 "primary down"};
    std::optional<actions::RunReport> report;
    EXPECT_TRUE(runner_.start(r, [&](const actions::RunReport& rep) { report = rep; }));
    const auto limit = std::chrono::steady_clock::now() + 60s;
    while (!report && std::chrono::steady_clock::now() < limit) {
      if (io_.stopped()) io_.restart();
      io_.run_one_for(50ms);
    }
    EXPECT_TRUE(report) << "plan did not finish";
    return report.value_or(actions::RunReport{});
  }

  std::size_t count(const std::string& type) const {
    return static_cast<std::size_t>(
        std::count_if(events.begin(), events.end(), [&](const auto& e) { return e.type == type; }));
  }

  std::vector<Recorded> events;

 private:
  static std::shared_ptr<const config::Config> load(const std::string& yaml) {
    auto r = config::loadConfigString("node: {name: n1}\n" + yaml, "plan.yaml");
    for (const auto& e : r.errors) ADD_FAILURE() << e.format();
    return r.config;
  }

  TempDir dir_;
  std::shared_ptr<const config::Config> cfg_;
  boost::asio::io_context io_;
  SystemClock clock_;
  net::HttpClient http_{io_};
  net::WorkerPool workers_{io_, 2};
  actions::ActionEnv env_;
  std::unique_ptr<coord::Coordinator> coordinator_;
  actions::FailoverRunner runner_;
};

TEST(TradingPlan, MovesLiveTrafficToTheStandby) {
  Stack s;
  s.primary_.setFault("http500");  // the primary has failed
  ASSERT_EQ(s.servedBy(), "http500");
  PlanHarness h(tradingPlan(s));
  auto report = h.run(false);
  ASSERT_TRUE(report.ok) << report.failed_step << ": " << report.reason;
  EXPECT_EQ(s.servedBy(), "none") << "traffic still goes to the old primary";
  EXPECT_EQ(s.etcd_.get("service/trading/primary"), "standby.hft.local");
  EXPECT_TRUE(s.etcd_.get("service/trading/failover_timestamp").has_value());
  EXPECT_EQ(s.redis_.cli({"GET", "system:maintenance_mode"}), "false");
  EXPECT_EQ(httpPost(s.frontend("/api/orders/test"),
                     "{\"symbol\":\"T\",\"quantity\":1,\"dry_run\":true}"),
            200);
  EXPECT_EQ(h.count("failover_started"), 1u);
  EXPECT_EQ(h.count("step_started"), 10u);
  EXPECT_EQ(h.count("step_done"), 10u);
  ASSERT_EQ(h.count("failover_completed"), 1u);
  const auto& done = h.events.back().fields;
  EXPECT_TRUE(done["rto_met"].get<bool>());
  EXPECT_GE(done["rto_ms"].get<double>(), 2000);
  for (const auto& e : h.events) {
    if (e.type == "step_done") {
      EXPECT_TRUE(e.fields.contains("duration_ms"));
    }
  }
}

TEST(TradingPlan, AFailingStepAbortsAndSaysWhichAndWhy) {
  Stack s;
  s.primary_.setFault("http500");
  PlanHarness h(tradingPlan(s, "no_such_server"));
  auto report = h.run(false);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.failed_step, "lb_drain_primary");
  ASSERT_EQ(h.count("failover_failed"), 1u);
  const auto& failed = h.events.back();
  EXPECT_EQ(failed.type, "failover_failed");
  EXPECT_EQ(failed.fields["failed_step"], "lb_drain_primary");
  EXPECT_NE(failed.reason.find("No such server"), std::string::npos) << failed.reason;
  EXPECT_EQ(h.count("step_started"), 4u);  // nothing after the failed step ran
  EXPECT_EQ(s.etcd_.get("service/trading/primary"), "primary.hft.local");
}

TEST(TradingPlan, DryRunChangesNothing) {
  Stack s;
  s.primary_.setFault("http500");
  const std::string lbBefore = s.haproxy_.command("show servers state trading");
  PlanHarness h(tradingPlan(s));
  auto report = h.run(true);
  EXPECT_TRUE(report.ok) << report.failed_step << ": " << report.reason;
  EXPECT_EQ(h.count("step_done"), 10u);
  for (const auto& e : h.events) EXPECT_TRUE(e.fields.value("dry_run", false)) << e.type;
  // HAProxy state, etcd, Redis and the standby's role are as they were.
  auto strip = [](std::string st) {  // health-check timing columns move on their own
    std::string out;
    std::istringstream in(st);
    for (std::string line; std::getline(in, line);) {
      std::istringstream w(line);
      std::vector<std::string> f;
      for (std::string x; w >> x;) f.push_back(x);
      if (f.size() > 8) out += f[3] + " " + f[5] + " " + f[6] + " " + f[7] + "\n";
    }
    return out;
  };
  EXPECT_EQ(strip(s.haproxy_.command("show servers state trading")), strip(lbBefore));
  EXPECT_EQ(s.etcd_.get("service/trading/primary"), "primary.hft.local");
  EXPECT_FALSE(s.etcd_.get("service/trading/failover_timestamp").has_value());
  EXPECT_EQ(s.redis_.cli({"EXISTS", "system:maintenance_mode"}), "0");
  EXPECT_EQ(nlohmann::json::parse(*httpGet(s.standby_.url("/admin/state")))["role"], "standby");
}

TEST(TradingPlan, FenceTakesTheOldPrimaryOutOfServiceEverywhere) {
  Stack s;
  const std::string plan =
      "plans:\n  trading:\n    steps:\n"
      "      - {name: fence, action: fence, haproxy_socket: '" +
      s.haproxy_.adminUnixSocket() +
      "', haproxy_backend: trading, haproxy_server: primary, kv_store: etcd, kv_endpoints: ['" +
      s.etcd_.endpoint() + "'], stop_url: '" + s.primary_.url("/admin/demote") + "'}\n";
  PlanHarness dry(plan);
  EXPECT_TRUE(dry.run(true).ok);
  EXPECT_FALSE(s.etcd_.get("nodes/primary.hft.local/fenced").has_value());
  EXPECT_EQ(nlohmann::json::parse(*httpGet(s.primary_.url("/admin/state")))["role"], "primary");
  PlanHarness h(plan);
  auto report = h.run(false);
  ASSERT_TRUE(report.ok) << report.reason;
  EXPECT_EQ(s.etcd_.get("nodes/primary.hft.local/fenced"), "true");
  EXPECT_EQ(nlohmann::json::parse(*httpGet(s.primary_.url("/admin/state")))["role"], "standby");
  const std::string lb = s.haproxy_.command("show servers state trading");
  EXPECT_NE(lb.find(" primary "), std::string::npos);
  long status = 0;
  httpGet(s.frontend("/health"), &status);
  EXPECT_EQ(status, 503) << "the fenced primary still takes traffic";
}

// A crashed primary cannot answer the stop: its host refusing the connection is proof that
// nothing serves there, so the fence holds. A primary that never answers (hung, or behind a
// partition) proves nothing: the fence fails, and the plan stops before any promotion. The
// same holds for the dry run a daemon taking over a half-done plan re-verifies it with.
TEST(TradingPlan, AFenceCountsARefusedStopButNeverASilentOne) {
  Stack s;
  auto fence = [&](const std::string& stop_url) {
    return "plans:\n  trading:\n    steps:\n"
           "      - {name: fence, action: fence, timeout: 1s, haproxy_socket: '" +
           s.haproxy_.adminUnixSocket() +
           "', haproxy_backend: trading, haproxy_server: primary, kv_store: etcd, kv_endpoints: "
           "['" +
           s.etcd_.endpoint() + "'], stop_url: '" + stop_url +
           "'}\n      - {name: promote, action: http_request, url: '" +
           s.standby_.url("/admin/promote") + "'}\n";
  };
  {
    PlanHarness h(fence("http://127.0.0.1:" + std::to_string(freePort()) + "/admin/demote"));
    auto dry = h.run(true);
    ASSERT_TRUE(dry.ok) << dry.reason;
    auto report = h.run(false);
    ASSERT_TRUE(report.ok) << report.reason;
    EXPECT_EQ(nlohmann::json::parse(*httpGet(s.standby_.url("/admin/state")))["role"], "primary");
  }
  httpPost(s.standby_.url("/admin/demote"), "");
  BlackHole silent;
  PlanHarness h(fence("http://127.0.0.1:" + std::to_string(silent.port()) + "/admin/demote"));
  auto report = h.run(false);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.failed_step, "fence");
  // The silent part fails within the step's time, with what the other parts did.
  EXPECT_NE(report.reason.find("stop FAILED"), std::string::npos) << report.reason;
  EXPECT_NE(report.reason.find("lb ok"), std::string::npos) << report.reason;
  EXPECT_EQ(nlohmann::json::parse(*httpGet(s.standby_.url("/admin/state")))["role"], "standby")
      << "promoted although the old primary was never proven stopped";
}

// The operator's command: a dry run prints every step and exits 0; the real run moves the
// traffic and exits 0; both are in the event log.
TEST(TradingPlan, HftguardFailoverCommand) {
  Stack s;
  s.primary_.setFault("http500");
  TempDir dir;
  const std::string config = dir.path() + "/hftguard.yaml";
  std::ofstream(config) << "node: {name: ops}\n"
                        << "event_log: {path: " << dir.path() << "/events.json}\n"
                        << "maintenance: {path: " << dir.path() << "/maintenance.json}\n"
                        << "control_api: {listen: 'off', socket: " << dir.path() << "/control.sock}\n"
                        << tradingPlan(s) << kComponent;
  const std::string out = dir.path() + "/out.txt";
  ASSERT_EQ(
      runCommand({HFTGUARD_BINARY, "failover", "--config", config, "trading_engine", "--dry-run"},
                 {.log_file = out}),
      0);
  std::ifstream dry(out);
  const std::string dryText((std::istreambuf_iterator<char>(dry)), {});
  EXPECT_NE(dryText.find("dry run of plan trading"), std::string::npos) << dryText;
  EXPECT_EQ(s.servedBy(), "http500");
  ASSERT_EQ(runCommand({HFTGUARD_BINARY, "failover", "--config", config, "trading_engine",
                        "--reason", "it test"},
                       {.log_file = out}),
            0);
  EXPECT_EQ(s.servedBy(), "none");
  std::ifstream log(dir.path() + "/events.json");
  const std::string events((std::istreambuf_iterator<char>(log)), {});
  EXPECT_EQ(std::count(events.begin(), events.end(), '\n'), 2 * (1 + 2 * 10 + 1));
}

// Consul cannot be installed here: its KV HTTP API is checked by form against a receiver
// that answers as Consul does (GET -> [{Value, ModifyIndex}], PUT/DELETE ?cas= -> true/false).
TEST(ConsulKv, CompareAndSetPutAndDeleteInConsulsRequestForm) {
  std::mutex mu;
  std::map<std::string, std::pair<std::string, int>> kv{
      {"service/trading/primary", {"primary.hft.local", 7}}};
  int index = 7;
  HttpReceiver consul([&](const ReceivedRequest& r) -> Reply {
    std::lock_guard lock(mu);
    const std::string path = r.target.substr(0, r.target.find('?'));
    if (!path.starts_with("/v1/kv/")) return {404, ""};
    const std::string key = path.substr(7);
    const auto cas = r.target.find("?cas=");
    auto it = kv.find(key);
    if (r.method == "GET") {
      if (it == kv.end()) return {404, ""};
      return {200, nlohmann::json::array({{{"Key", key},
                                           {"Value", base64Encode(it->second.first)},
                                           {"ModifyIndex", it->second.second}}})
                       .dump()};
    }
    if (cas != std::string::npos &&
        (it == kv.end() || std::to_string(it->second.second) != r.target.substr(cas + 5))) {
      return {200, "false"};
    }
    if (r.method == "PUT") kv[key] = {r.body, ++index};
    if (r.method == "DELETE") kv.erase(key);
    return {200, "true"};
  });
  const std::string plans =
      "plans:\n  trading:\n    steps:\n"
      "      - {name: put, action: kv_put, store: consul, endpoints: ['" +
      consul.url() +
      "'], key: service/trading/primary, value: '{new_primary}', prev_value: '{old_primary}', "
      "token: '${HFTGUARD_IT_CONSUL_TOKEN}'}\n"
      "  cleanup:\n    steps:\n"
      "      - {name: delete, action: kv_delete, store: consul, endpoints: ['" +
      consul.url() + "'], key: service/trading/primary}\n";
  ::setenv("HFTGUARD_IT_CONSUL_TOKEN", "consul-secret", 1);
  PlanHarness h(plans);
  auto put = h.run(false);
  EXPECT_TRUE(put.ok) << put.reason;
  auto reqs = consul.requests();
  ASSERT_GE(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].target, "/v1/kv/service/trading/primary");
  EXPECT_EQ(reqs[0].headers["x-consul-token"], "consul-secret");
  EXPECT_EQ(reqs[1].method, "PUT");
  EXPECT_EQ(reqs[1].target, "/v1/kv/service/trading/primary?cas=7");
  EXPECT_EQ(reqs[1].body, "standby.hft.local");
  EXPECT_EQ(reqs[1].headers["x-consul-token"], "consul-secret");
  EXPECT_EQ(kv["service/trading/primary"].first, "standby.hft.local");
  auto report = h.run(false, "cleanup");
  EXPECT_TRUE(report.ok) << report.reason;
  reqs = consul.requests();
  const auto del =
      std::find_if(reqs.begin(), reqs.end(), [](const auto& r) { return r.method == "DELETE"; });
  ASSERT_NE(del, reqs.end());
  EXPECT_EQ(del->target, "/v1/kv/service/trading/primary");
  EXPECT_EQ(kv.count("service/trading/primary"), 0u);
}

}  // namespace

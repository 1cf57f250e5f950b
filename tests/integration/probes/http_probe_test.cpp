// http, e2e_order, tcp, process and host probes against the engine simulator and loopback.

#include <fstream>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../support/probe_harness.hpp"
#include "../../support/servers.hpp"
#include "hftguard/net/http_client.hpp"

#include <boost/asio/io_context.hpp>

using namespace hftguard;
using namespace hftguard::testing;
using probes::ProbeStatus;
using namespace std::chrono_literals;

namespace {

class EngineProbes : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    redis_ = new RedisServer();
    primary_ = new EngineSim("primary", redis_->port());
    standby_ = new EngineSim("standby");
  }
  static void TearDownTestSuite() {
    delete standby_;
    delete primary_;
    delete redis_;
  }
  void TearDown() override { primary_->setFault("none"); }

  static std::string http(const std::string& name, const std::string& url,
                          const std::string& extra = "") {
    return "      " + name + ":\n        type: http\n        url: " + url +
           "\n        timeout: 500ms\n" + extra;
  }

  static RedisServer* redis_;
  static EngineSim* primary_;
  static EngineSim* standby_;
};

RedisServer* EngineProbes::redis_ = nullptr;
EngineSim* EngineProbes::primary_ = nullptr;
EngineSim* EngineProbes::standby_ = nullptr;

TEST_F(EngineProbes, HealthyWithJsonField) {
  ProbeHarness h(http(
      "h", primary_->url("/health"),
      "        json_field: /role\n        json_equals: primary\n        max_latency: 200ms\n"));
  auto r = h.run("h");
  EXPECT_EQ(r.status, ProbeStatus::Ok) << r.reason;
  EXPECT_TRUE(r.value("latency_ms").has_value());
}

TEST_F(EngineProbes, Http500Fails) {
  primary_->setFault("http500");
  ProbeHarness h(http("h", primary_->url("/health")));
  auto r = h.run("h");
  EXPECT_EQ(r.status, ProbeStatus::Failed);
  EXPECT_NE(r.reason.find("HTTP 500"), std::string::npos) << r.reason;
  EXPECT_EQ(r.value("http_status"), 500.0);
}

TEST_F(EngineProbes, SlowAnswerOverMaxLatencyFails) {
  primary_->setFault("slow:250");
  ProbeHarness h(http("h", primary_->url("/health"), "        max_latency: 100ms\n"));
  auto r = h.run("h");
  EXPECT_EQ(r.status, ProbeStatus::Failed);
  EXPECT_NE(r.reason.find("slow answer"), std::string::npos) << r.reason;
}

TEST_F(EngineProbes, HangTimesOutAtTheDeadline) {
  primary_->setFault("hang");
  ProbeHarness h(http("h", primary_->url("/health")));
  auto r = h.run("h");
  EXPECT_EQ(r.status, ProbeStatus::Timeout) << r.reason;
  EXPECT_GE(r.latency, 500ms);
  EXPECT_LT(r.latency, 600ms);
}

TEST_F(EngineProbes, MalformedBodyFails) {
  primary_->setFault("malformed");
  ProbeHarness h(http("h", primary_->url("/health"), "        json_field: /status\n") +
                 "      order:\n        type: e2e_order\n        url: " +
                 primary_->url("/api/orders/test") + "\n");
  auto r = h.run("h");
  EXPECT_EQ(r.status, ProbeStatus::Failed);
  EXPECT_NE(r.reason.find("malformed JSON"), std::string::npos) << r.reason;
  EXPECT_EQ(h.run("order").status, ProbeStatus::Failed);
}

TEST_F(EngineProbes, OversizedBodyFails) {
  ProbeHarness h(http("h", primary_->url("/health"), "        max_body_bytes: 5\n"));
  auto r = h.run("h");
  EXPECT_EQ(r.status, ProbeStatus::Failed);
  EXPECT_NE(r.reason.find("body larger than 5 bytes"), std::string::npos) << r.reason;
}

TEST_F(EngineProbes, RefusedConnectionFails) {
  ProbeHarness h(http("h", "http://127.0.0.1:" + std::to_string(freePort()) + "/health"));
  auto r = h.run("h");
  EXPECT_EQ(r.status, ProbeStatus::Failed);
  EXPECT_NE(r.reason.find("refused"), std::string::npos) << r.reason;
}

TEST_F(EngineProbes, TestOrderSucceedsOnThePrimaryOnly) {
  ProbeHarness h(
      "      p:\n        type: e2e_order\n        url: " + primary_->url("/api/orders/test") +
      "\n      s:\n        type: e2e_order\n        url: " + standby_->url("/api/orders/test") +
      "\n");
  auto p = h.run("p");
  EXPECT_EQ(p.status, ProbeStatus::Ok) << p.reason;
  auto s = h.run("s");
  EXPECT_EQ(s.status, ProbeStatus::Failed);
  EXPECT_NE(s.reason.find("HTTP 503"), std::string::npos) << s.reason;
}

TEST_F(EngineProbes, MarketDataGoesStaleWhenThePublisherStops) {
  ProbeHarness h(
      "      md:\n        type: redis_key\n        host: 127.0.0.1\n        port: " +
      std::to_string(redis_->port()) +
      "\n        key: last_market_update\n        condition: fresh\n        max_age: 1s\n");
  ASSERT_TRUE(waitUntil([&] { return h.run("md").status == ProbeStatus::Ok; }, 5s));
  primary_->setFault("stale_market_data");
  EXPECT_TRUE(waitUntil([&] { return h.run("md").status == ProbeStatus::Failed; }, 5s));
}

TEST(TcpProbe, OpenRefusedAndHung) {
  EngineSim engine("standby");
  FullBacklog stuck;
  auto tcp = [](const std::string& name, int port) {
    return "      " + name +
           ":\n        type: tcp\n        host: 127.0.0.1\n        port: " + std::to_string(port) +
           "\n        timeout: 300ms\n";
  };
  ProbeHarness h(tcp("open", engine.port()) + tcp("refused", freePort()) +
                 tcp("hung", stuck.port()));
  EXPECT_EQ(h.run("open").status, ProbeStatus::Ok);
  auto refused = h.run("refused");
  EXPECT_EQ(refused.status, ProbeStatus::Failed);
  EXPECT_NE(refused.reason.find("refused"), std::string::npos) << refused.reason;
  auto hung = h.run("hung");
  EXPECT_EQ(hung.status, ProbeStatus::Timeout);
  EXPECT_GE(hung.latency, 300ms);
}

TEST(ProcessProbe, ByExecutableCmdlineAndPidfile) {
  EngineSim engine("standby");
  TempDir dir;
  const std::string pidfile = dir.path() + "/engine.pid";
  std::ofstream(pidfile) << engine.process().pid() << "\n";
  ProbeHarness h(
      "      exe:\n        type: process\n        executable: engine_sim\n"
      "      cmd:\n        type: process\n        cmdline: [engine_sim, --role, standby, --port, "
      "'" +
      std::to_string(engine.port()) +
      "']\n"
      "      pid:\n        type: process\n        pidfile: " +
      pidfile +
      "\n"
      "      none:\n        type: process\n        executable: no_such_engine\n");
  EXPECT_EQ(h.run("exe").status, ProbeStatus::Ok);
  auto cmd = h.run("cmd");
  EXPECT_EQ(cmd.status, ProbeStatus::Ok);
  EXPECT_EQ(cmd.value("count"), 1.0);
  EXPECT_EQ(h.run("pid").status, ProbeStatus::Ok);
  EXPECT_EQ(h.run("none").status, ProbeStatus::Failed);
  engine.process().stop();
  EXPECT_EQ(h.run("pid").status, ProbeStatus::Failed);
  EXPECT_EQ(h.run("cmd").status, ProbeStatus::Failed);
}

TEST(ProcessProbe, AZombieIsNotRunning) {
  TempDir dir;
  const std::string pidfile = dir.path() + "/zombie.pid";
  pid_t child = fork();
  if (child == 0) _exit(0);
  std::ofstream(pidfile) << child << "\n";
  ASSERT_TRUE(waitUntil(
      [&] {
        std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
        std::string all((std::istreambuf_iterator<char>(stat)), {});
        return all.find(") Z ") != std::string::npos;
      },
      5s));
  ProbeHarness h("      pid:\n        type: process\n        pidfile: " + pidfile + "\n");
  auto r = h.run("pid");
  waitpid(child, nullptr, 0);
  EXPECT_EQ(r.status, ProbeStatus::Failed) << r.reason;
}

TEST(HostProbe, ReportsMemoryThenCpu) {
  ProbeHarness h("      host:\n        type: host\n        process: hftguard_integ\n");
  auto first = h.run("host");
  EXPECT_EQ(first.status, ProbeStatus::Ok);
  ASSERT_TRUE(first.value("memory_ratio").has_value());
  EXPECT_GT(*first.value("memory_ratio"), 0.0);
  EXPECT_LT(*first.value("memory_ratio"), 1.0);
  EXPECT_FALSE(first.value("cpu_ratio").has_value());
  std::this_thread::sleep_for(50ms);
  auto second = h.run("host");
  ASSERT_TRUE(second.value("cpu_ratio").has_value());
  EXPECT_GE(*second.value("cpu_ratio"), 0.0);
  EXPECT_TRUE(second.value("process_memory_ratio").has_value());
}

}  // namespace

// The HTTP client's connect timeout: a hung connect gives up early while a long transfer
// timeout stays available to slow answers (Patroni's POST /switchover takes seconds).
TEST(HttpClient, ConnectTimeoutEndsAHungConnectEarly) {
  EngineSim engine("standby");
  FullBacklog stuck;
  boost::asio::io_context io;
  net::HttpClient http(io);
  auto fetch = [&](const std::string& url, Duration connect) {
    std::optional<net::HttpResponse> got;
    net::HttpRequest r;
    r.url = url;
    r.timeout = 10s;
    r.connect_timeout = connect;
    http.send(r, [&](net::HttpResponse resp) { got = std::move(resp); });
    const auto start = std::chrono::steady_clock::now();
    while (!got && std::chrono::steady_clock::now() - start < 15s) io.run_one_for(50ms);
    return std::pair{*got, std::chrono::steady_clock::now() - start};
  };
  auto [hung, took] = fetch("http://127.0.0.1:" + std::to_string(stuck.port()) + "/", 300ms);
  EXPECT_FALSE(hung.answered);
  EXPECT_LT(took, 3s);
  engine.setFault("slow:1500");  // an answer slower than the connect timeout is fine
  auto [slow, _] = fetch(engine.url("/health"), 300ms);
  EXPECT_TRUE(slow.answered) << slow.error;
}

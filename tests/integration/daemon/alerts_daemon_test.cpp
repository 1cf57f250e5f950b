// The daemon's alerts: they never hold a failover back, and a storm of failed probes is one
// alert per channel.

#include <fstream>

#include <gtest/gtest.h>

#include "event_file.hpp"
#include "http_receiver.hpp"
#include "process.hpp"
#include "servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

namespace {

std::size_t count(const std::vector<events::Event>& all, const std::string& type) {
  return std::count_if(all.begin(), all.end(), [&](const auto& e) { return e.type == type; });
}

// Every channel hangs or refuses: the failover still completes on time, and each give-up
// is recorded.
TEST(DaemonAlerts, DeadChannelsNeverDelayTheFailover) {
  EngineSim primary("primary");
  EngineSim standby("standby");
  BlackHole hung;
  TempDir dir;
  const std::string events = dir.path() + "/failover_events.json";
  const std::string config = dir.path() + "/hftguard.yaml";
  std::ofstream(dir.path() + "/slack.url") << "http://127.0.0.1:" << hung.port() << "/hook";
  std::ofstream(dir.path() + "/pd.key") << "key";
  std::ofstream(config)
      << "node: {name: e2e}\nevent_log: {path: " << events << "}\n"
      << "maintenance: {path: " << dir.path() << "/maintenance.json}\n"
      << "control_api: {listen: 'off', socket: " << dir.path() << "/control.sock}\n"
      << "alerts:\n  initial_backoff: 100ms\n  deadline: 3s\n  channels:\n"
      << "    ops: {type: slack, webhook_url_file: slack.url}\n"
      << "    oncall: {type: pagerduty, routing_key_file: pd.key, min_severity: info, url: "
         "'http://127.0.0.1:"
      << freePort() << "/v2/enqueue'}\n"
      << "    mail: {type: email, smtp_url: 'smtp://127.0.0.1:" << hung.port()
      << "', from: hftguard@hft.local, to: [ops@hft.local], min_severity: info}\n"
      << "components:\n  engine:\n    tier: hot\n    rto_target: 5s\n    plan: p\n"
      << "    checks:\n      health: {type: http, url: '" << primary.url("/health")
      << "', interval: 100ms, timeout: 80ms}\n"
      << "plans:\n  p:\n    steps:\n      - {action: http_request, url: '"
      << standby.url("/admin/promote") << "'}\n";
  ChildProcess daemon({HFTGUARD_BINARY, "run", "--config", config},
                      {.log_file = dir.path() + "/run.log"});
  ASSERT_TRUE(waitUntil([&] { return hasEvent(events, "state_changed"); }, 10s));
  primary.setFault("crash");
  ASSERT_TRUE(waitUntil([&] { return count(readEvents(events), "failover_completed") == 1; }, 10s))
      << readFile(dir.path() + "/run.log");
  // Two alerts (triggered, completed) on three channels, each given up after 3 s - or, on
  // the refusing channel, the trigger waiting to retry superseded by the completion.
  EXPECT_TRUE(waitUntil(
      [&] {
        const auto all = readEvents(events);
        return count(all, "alert_failed") + count(all, "alert_superseded") == 6;
      },
      15s))
      << readFile(dir.path() + "/run.log");
  daemon.stop();
  for (const auto& e : readEvents(events)) {
    if (e.type == "failover_completed") {
      EXPECT_LT(e.fields["rto_ms"].get<double>(), 1500.0) << "the channels held it back";
      EXPECT_TRUE(e.fields["rto_met"].get<bool>());
    }
  }
}

// A component nobody may fail over (automation: manual) fails and stays failed: more than a
// hundred failed probes, one alert per channel.
TEST(DaemonAlerts, AStormOfFailedProbesIsOneAlertPerChannel) {
  EngineSim engine("primary");
  HttpReceiver slack([](const ReceivedRequest&) { return Reply{200, "ok", "text/plain"}; });
  HttpReceiver pd([](const ReceivedRequest&) { return Reply{202, R"({"status":"success"})"}; });
  TempDir dir;
  std::ofstream(dir.path() + "/slack.url") << slack.url() << "/hook";
  std::ofstream(dir.path() + "/pd.key") << "key";
  const std::string events = dir.path() + "/failover_events.json";
  const std::string config = dir.path() + "/hftguard.yaml";
  std::ofstream(config)
      << "node: {name: e2e}\nevent_log: {path: " << events << "}\n"
      << "maintenance: {path: " << dir.path() << "/maintenance.json}\n"
      << "control_api: {listen: 'off', socket: " << dir.path() << "/control.sock}\n"
      << "alerts:\n  channels:\n"
      << "    ops: {type: slack, webhook_url_file: slack.url}\n"
      << "    oncall: {type: pagerduty, routing_key_file: pd.key, url: '" << pd.url()
      << "/v2/enqueue'}\n"
      << "components:\n  engine:\n    tier: cold\n    automation: manual\n    rto_target: 1m\n"
      << "    checks:\n      health: {type: http, url: '" << engine.url("/health")
      << "', interval: 20ms, timeout: 15ms}\n";
  ChildProcess daemon({HFTGUARD_BINARY, "run", "--config", config},
                      {.log_file = dir.path() + "/run.log"});
  ASSERT_TRUE(waitUntil([&] { return hasEvent(events, "state_changed"); }, 10s));
  engine.setFault("http500");
  auto failedProbes = [&] {
    const std::string log = readFile(dir.path() + "/run.log");
    std::size_t n = 0;
    for (auto at = log.find("engine/health failed"); at != std::string::npos;
         at = log.find("engine/health failed", at + 1))
      ++n;
    return n;
  };
  ASSERT_TRUE(waitUntil([&] { return failedProbes() >= 120; }, 20s)) << failedProbes();
  daemon.stop();
  EXPECT_EQ(slack.requests().size(), 1u);
  EXPECT_EQ(pd.requests().size(), 1u);
  EXPECT_EQ(count(readEvents(events), "alert_sent"), 2u);
  EXPECT_NE(slack.requests().at(0).body.find("NEEDS ATTENTION (automation): engine"),
            std::string::npos);
}

}  // namespace

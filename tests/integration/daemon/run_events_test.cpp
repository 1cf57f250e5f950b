// hftguard run against the engine simulator: an HTTP 500 fault becomes check_failed events,
// then one failover_triggered with evidence, and hftguard explain prints its chain.

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "hftguard/events/event.hpp"

#include "process.hpp"
#include "servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

#ifndef HFTGUARD_BINARY
#error "HFTGUARD_BINARY must name the hftguard binary"
#endif

namespace {

std::vector<events::Event> readEvents(const std::string& path) {
  std::ifstream in(path);
  std::vector<events::Event> out;
  for (std::string line; std::getline(in, line);) {
    auto e = events::parseEventLine(line);
    EXPECT_TRUE(e) << "torn or malformed line: " << line;
    if (e) out.push_back(*e);
  }
  return out;
}

std::size_t countType(const std::vector<events::Event>& all, const std::string& type) {
  return static_cast<std::size_t>(
      std::count_if(all.begin(), all.end(), [&](const auto& e) { return e.type == type; }));
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A config with one engine component probed every 100ms; returns its path.
std::string writeConfig(const TempDir& dir, const EngineSim& engine) {
  const std::string config = dir.path() + "/hftguard.yaml";
  const std::string url = engine.url("/health");
  std::ofstream(config) << "node: {name: it-node}\n"
                        << "event_log: {path: " << dir.path() << "/failover_events.json}\n"
                        << "maintenance: {path: " << dir.path() << "/maintenance.json}\n"
                        << "control_api: {listen: 'off', socket: " << dir.path() << "/control.sock}\n"
                        << "plans:\n  p: {steps: [{action: http_check, url: '" << url
                        << "', expect: down}]}\n"
                        << "components:\n  engine:\n    tier: hot\n    rto_target: 30s\n"
                        << "    plan: p\n    checks:\n      health: {type: http, url: '" << url
                        << "', interval: 100ms, timeout: 100ms}\n";
  return config;
}

TEST(RunEvents, Http500BecomesOneFailoverWithEvidenceAndExplainPrintsIt) {
  EngineSim engine("primary");
  TempDir dir;
  const std::string config = writeConfig(dir, engine);
  const std::string events = dir.path() + "/failover_events.json";
  ChildProcess daemon({HFTGUARD_BINARY, "run", "--config", config},
                      {.log_file = dir.path() + "/run.log"});
  ASSERT_TRUE(waitUntil([&] { return countType(readEvents(events), "state_changed") >= 1; }, 10s))
      << slurp(dir.path() + "/run.log");
  engine.setFault("http500");
  ASSERT_TRUE(
      waitUntil([&] { return countType(readEvents(events), "failover_triggered") >= 1; }, 10s))
      << slurp(dir.path() + "/run.log");
  std::this_thread::sleep_for(500ms);  // more failed samples: still one failover
  daemon.stop();

  const auto all = readEvents(events);
  EXPECT_EQ(countType(all, "check_failed"), 3u);
  ASSERT_EQ(countType(all, "failover_triggered"), 1u);
  const auto& f = *std::find_if(all.begin(), all.end(),
                                [](const auto& e) { return e.type == "failover_triggered"; });
  EXPECT_EQ(f.node, "it-node");
  EXPECT_EQ(f.component, "engine");
  EXPECT_EQ(f.fields["tier"], "component");
  EXPECT_EQ(f.fields["rule"], "fall");
  EXPECT_EQ(f.fields["plan"], "p");
  const auto& samples = f.fields["evidence"]["samples"];
  ASSERT_GE(samples.size(), 3u);
  EXPECT_EQ(samples.back()["status"], "failed");
  EXPECT_NE(samples.back()["reason"].get<std::string>().find("HTTP 500"), std::string::npos);
  EXPECT_EQ(f.fields["evidence"]["thresholds"][0]["name"], "consecutive_failures");
  // Events are in time order, each id unique.
  for (std::size_t i = 1; i < all.size(); ++i) {
    EXPECT_LE(all[i - 1].at, all[i].at);
    EXPECT_NE(all[i - 1].id, all[i].id);
  }

  const std::string out = dir.path() + "/explain.out";
  ASSERT_EQ(runCommand({HFTGUARD_BINARY, "explain", "--file", events, f.id}, {.log_file = out}), 0);
  const std::string text = slurp(out);
  for (const char* expected :
       {"failover_triggered", "rule: fall", "tier: component", "consecutive_failures", "HTTP 500",
        "leading events", "check_failed"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
  }
  const std::string listing = dir.path() + "/events.out";
  ASSERT_EQ(runCommand({HFTGUARD_BINARY, "events", "--file", events, "--component", "engine"},
                       {.log_file = listing}),
            0);
  EXPECT_NE(slurp(listing).find("failover_triggered"), std::string::npos);
}

TEST(RunEvents, MaintenanceHoldsTheFailoverUntilTheOperatorEndsIt) {
  EngineSim engine("primary");
  TempDir dir;
  const std::string config = writeConfig(dir, engine);
  const std::string events = dir.path() + "/failover_events.json";
  const std::string cliLog = dir.path() + "/cli.log";
  ASSERT_EQ(runCommand({HFTGUARD_BINARY, "maintenance", "start", "--config", config, "--component",
                        "engine", "--for", "10m", "--reason", "engine upgrade", "--owner", "alice"},
                       {.log_file = cliLog}),
            0)
      << slurp(cliLog);
  ChildProcess daemon({HFTGUARD_BINARY, "run", "--config", config},
                      {.log_file = dir.path() + "/run.log"});
  // Healthy first: a component already down at start is never failed over.
  ASSERT_TRUE(waitUntil(
      [&] {
        const auto all = readEvents(events);
        return countType(all, "maintenance_started") == 1 && countType(all, "state_changed") == 1;
      },
      10s))
      << slurp(dir.path() + "/run.log");
  engine.setFault("http500");
  ASSERT_TRUE(
      waitUntil([&] { return countType(readEvents(events), "failover_suppressed") == 1; }, 10s))
      << slurp(events) << slurp(dir.path() + "/run.log");
  EXPECT_EQ(countType(readEvents(events), "failover_triggered"), 0u);
  ASSERT_EQ(runCommand({HFTGUARD_BINARY, "maintenance", "end", "--config", config, "--component",
                        "engine"},
                       {.log_file = cliLog}),
            0)
      << slurp(cliLog);
  ASSERT_TRUE(
      waitUntil([&] { return countType(readEvents(events), "failover_triggered") == 1; }, 10s))
      << slurp(dir.path() + "/run.log");
  daemon.stop();
  const auto all = readEvents(events);
  EXPECT_EQ(countType(all, "maintenance_ended"), 1u);
  const auto held = std::find_if(all.begin(), all.end(),
                                 [](const auto& e) { return e.type == "failover_suppressed"; });
  EXPECT_EQ(held->fields["suppressed_by"], "maintenance");
  EXPECT_EQ(held->fields["gates"]["maintenance_owner"], "alice");
  const auto released = std::find_if(all.begin(), all.end(),
                                     [](const auto& e) { return e.type == "failover_triggered"; });
  EXPECT_NE(released->reason.find("held failover released"), std::string::npos) << released->reason;
}

}  // namespace

// Roles are state: a failover moves them (the old primary fenced, the epoch up), the checks
// follow the new primary at once, no failover starts while no standby is ready, an
// operator's `hftguard member --ready` returns a rebuilt member, and the next failover goes
// back to it. A restarted daemon reads the roles back from the state file.

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "event_file.hpp"
#include "process.hpp"
#include "servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

namespace {

std::size_t count(const std::string& events, const std::string& type) {
  std::size_t n = 0;
  for (const auto& e : readEvents(events)) n += e.type == type;
  return n;
}

// The last event of `type`, waited for until there are `n` of them.
events::Event waitFor(const std::string& events, const std::string& type, std::size_t n,
                      std::chrono::milliseconds limit = 30s) {
  EXPECT_TRUE(waitUntil([&] { return count(events, type) >= n; }, limit))
      << "no " << n << "th " << type;
  events::Event last;
  for (const auto& e : readEvents(events)) {
    if (e.type == type) last = e;
  }
  return last;
}

nlohmann::json stateOf(const std::string& dir) {
  return nlohmann::json::parse(readFile(dir + "/cluster_state.json"))["components"]["engine"];
}

TEST(Roles, FailoverAndBackWithTheChecksFollowingAndTheRolesKeptAcrossARestart) {
  EngineSim a("primary");
  EngineSim b("standby");
  TempDir dir;
  const std::string events = dir.path() + "/failover_events.json";
  const std::string config = dir.path() + "/hftguard.yaml";
  auto api = [](const EngineSim& e) { return "127.0.0.1:" + std::to_string(e.port()); };
  std::ofstream(config)
      << "node: {name: roles}\n"
      << "event_log: {path: " << events << "}\n"
      << "maintenance: {path: " << dir.path() << "/maintenance.json}\n"
      << "control_api: {listen: 'off', socket: " << dir.path() << "/control.sock}\n"
      << "components:\n  engine:\n    tier: hot\n    rto_target: 30s\n    plan: move\n"
      << "    cooldown: 0s\n    flap_damping: {enabled: false}\n"
      << "    members:\n"
      << "      engine_a: {host: 127.0.0.1, api: '" << api(a) << "'}\n"
      << "      engine_b: {host: 127.0.0.1, api: '" << api(b) << "'}\n"
      << "    primary: engine_a\n"
      << "    checks:\n"
      << "      health: {type: http, url: 'http://{primary.api}/health', interval: 100ms, "
         "timeout: 80ms}\n"
      << "    standby_checks:\n"
      << "      ready: {type: http, url: 'http://{standby.api}/health', interval: 100ms, "
         "timeout: 80ms}\n"
      << "plans:\n  move:\n    steps:\n"
      << "      - {name: old_down, action: http_check, url: 'http://{old_primary.api}/health', "
         "expect: down}\n"
      << "      - {name: promote, action: http_request, url: "
         "'http://{new_primary.api}/admin/promote'}\n"
      << "      - {name: mark, action: exec, argv: [/usr/bin/touch, '" << dir.path()
      << "/epoch-{epoch}-{old_primary}-{new_primary}']}\n";
  auto run = [&] {
    return ChildProcess({HFTGUARD_BINARY, "run", "--config", config},
                        {.log_file = dir.path() + "/run.log"});
  };
  auto daemon = run();
  waitFor(events, "state_changed", 1, 10s);  // healthy: engine_a is probed
  EXPECT_EQ(stateOf(dir.path())["primary"], "engine_a");  // written at the first start
  EXPECT_EQ(stateOf(dir.path())["epoch"], 0);

  // 1. engine_a dies: engine_b is promoted, the roles move, engine_a is fenced.
  a.setFault("crash");
  auto done = waitFor(events, "failover_completed", 1);
  EXPECT_EQ(done.fields["new_primary"], "engine_b") << done.reason;
  EXPECT_EQ(done.fields["epoch"], 1);
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/epoch-1-engine_a-engine_b"));
  auto st = stateOf(dir.path());
  EXPECT_EQ(st["primary"], "engine_b");
  EXPECT_EQ(st["fenced"], nlohmann::json::array({"engine_a"}));
  EXPECT_EQ(st["epoch"], 1);
  auto moved = waitFor(events, "roles_changed", 1);
  EXPECT_EQ(moved.fields["roles"]["primary"], "engine_b");
  // The checks follow: with engine_a still dead, the component is healthy again only
  // because `health` now asks engine_b.
  ASSERT_TRUE(waitUntil(
      [&] {
        auto all = readEvents(events);
        for (auto it = all.rbegin(); it != all.rend(); ++it) {
          if (it->type == "roles_changed") return false;
          if (it->type == "state_changed" && it->fields.value("to", "") == "healthy") return true;
        }
        return false;
      },
      10s))
      << "the component did not recover on engine_b";

  // 2. engine_b dies too: nobody is ready to take over - no failover, and it says why.
  b.setFault("crash");
  auto skipped = waitFor(events, "failover_skipped", 1, 10s);
  EXPECT_NE(skipped.reason.find("no standby of engine is ready"), std::string::npos)
      << skipped.reason;
  EXPECT_EQ(count(events, "failover_started"), 1u);
  b.restart();  // engine_b comes back as the primary it was
  httpPost(b.url("/admin/promote"), "");

  // 3. engine_a is rebuilt as a standby and returned by an operator; then engine_b dies and
  //    the failover goes back to engine_a.
  a.restart();
  httpPost(a.url("/admin/demote"), "");
  ASSERT_EQ(runCommand({HFTGUARD_BINARY, "member", "--config", config, "engine", "engine_a",
                        "--ready"},
                       {.log_file = dir.path() + "/member.log"}),
            0)
      << readFile(dir.path() + "/member.log");
  EXPECT_EQ(waitFor(events, "member_ready", 1).fields["member"], "engine_a");
  auto adopted = waitFor(events, "roles_changed", 2, 5s);  // the daemon read it within a tick
  EXPECT_EQ(adopted.fields["by"], "the state file");
  EXPECT_EQ(adopted.fields["roles"]["standbys"], nlohmann::json::array({"engine_a"}));
  b.setFault("crash");
  done = waitFor(events, "failover_completed", 2);
  EXPECT_EQ(done.fields["new_primary"], "engine_a") << done.reason;
  EXPECT_EQ(done.fields["epoch"], 2);
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/epoch-2-engine_b-engine_a"));
  EXPECT_EQ(count(events, "failover_started"), 2u);
  daemon.stop();

  // 4. A restart reads the roles back: engine_a primary at epoch 2, engine_b fenced.
  const std::size_t started = count(events, "daemon_started");
  daemon = run();
  auto again = waitFor(events, "daemon_started", started + 1, 10s);
  EXPECT_EQ(again.fields["roles"]["engine"]["primary"], "engine_a");
  EXPECT_EQ(again.fields["roles"]["engine"]["epoch"], 2);
  EXPECT_EQ(again.fields["roles"]["engine"]["fenced"], nlohmann::json::array({"engine_b"}));
  daemon.stop();

  // `hftguard status` says the same: no daemon runs, so the roles as stored (stderr says so;
  // the log holds both, the JSON after the note).
  ASSERT_EQ(runCommand({HFTGUARD_BINARY, "status", "--config", config, "--json"},
                       {.log_file = dir.path() + "/status.log"}),
            0);
  const std::string said = readFile(dir.path() + "/status.log");
  EXPECT_NE(said.find("no daemon answered"), std::string::npos) << said;
  auto status = nlohmann::json::parse(said.substr(std::min(said.find('{'), said.size())));
  EXPECT_EQ(status["coordination"]["type"], "local");
  EXPECT_EQ(status["components"]["engine"]["roles"]["primary"], "engine_a");
}

TEST(Roles, AStateNamingAPrimaryThatIsNotAMemberStopsTheStart) {
  TempDir dir;
  const std::string config = dir.path() + "/hftguard.yaml";
  std::ofstream(config) << "node: {name: roles}\n"
                        << "event_log: {path: " << dir.path() << "/events.json}\n"
                        << "maintenance: {path: " << dir.path() << "/maintenance.json}\n"
                        << "control_api: {listen: 'off', socket: " << dir.path() << "/control.sock}\n"
                        << "components:\n  engine:\n    tier: cold\n    rto_target: 30s\n"
                        << "    members: {a: {host: 127.0.0.1}, b: {host: 127.0.0.1}}\n"
                        << "    primary: a\n"
                        << "    checks: {t: {type: tcp, host: '{primary.host}', port: 1}}\n";
  std::ofstream(dir.path() + "/cluster_state.json")
      << R"({"version": 1, "components": {"engine": {"primary": "c", "standbys": ["a"],
             "fenced": [], "epoch": 3}}})";
  const int rc = runCommand({HFTGUARD_BINARY, "run", "--config", config},
                            {.log_file = dir.path() + "/run.log"}, 10s);
  EXPECT_NE(rc, 0);
  EXPECT_NE(readFile(dir.path() + "/run.log").find("the state's primary c is not a configured member"),
            std::string::npos)
      << readFile(dir.path() + "/run.log");
}

}  // namespace

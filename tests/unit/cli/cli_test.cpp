// The command line as an operator meets it: help, version, check-config's exit codes.

#include "hftguard/cli/cli.hpp"

#include <cstdlib>
#include <cstdio>
#include <set>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <fcntl.h>
#include <unistd.h>

#include "hftguard/version.hpp"

namespace fs = std::filesystem;

namespace {

struct Output {
  int code;
  std::string out;
  std::string err;
};

Output cli(std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = hftguard::cli::run(args, out, err);
  return {code, out.str(), err.str()};
}

const std::string kRoot = HFTGUARD_SOURCE_DIR;

TEST(Cli, VersionAndHelp) {
  EXPECT_EQ(cli({"--version"}).out, std::string("hftguard ") + hftguard::kVersion + "\n");
  Output help = cli({"help"});
  EXPECT_EQ(help.code, 0);
  for (const char* cmd : {"run [--config FILE]", "check-config [FILE", "version", "help"}) {
    EXPECT_NE(help.out.find(cmd), std::string::npos) << cmd;
  }
  EXPECT_EQ(cli({}).code, 2);
}

const std::vector<std::string> kCommands = {
    "run",    "check-config", "probe",  "events", "explain", "failover",   "alert-test", "drill",
    "maintenance", "member",  "status", "pause",  "resume",  "switchover", "reload",     "version",
    "help"};

TEST(Cli, EveryCommandHasItsOwnHelp) {
  const Output list = cli({"help"});
  for (const std::string& cmd : kCommands) {
    Output o = cli({cmd, "--help"});
    EXPECT_EQ(o.code, 0) << cmd << ": " << o.err;
    EXPECT_TRUE(o.out.starts_with("usage: hftguard " + cmd)) << o.out;
    EXPECT_EQ(cli({cmd, "-h"}).code, 0) << cmd;
    EXPECT_EQ(cli({"help", cmd}).out, o.out) << cmd;
    EXPECT_NE(list.out.find("  " + cmd), std::string::npos) << cmd << " is not listed";
    // Each option is explained, the config one way everywhere.
    if (cmd != "version" && cmd != "help") {
      EXPECT_NE(o.out.find("-c,--config FILE"), std::string::npos) << o.out;
      EXPECT_NE(o.out.find("$HFTGUARD_CONFIG"), std::string::npos) << o.out;
    }
  }
  // --json on every command that prints (run logs).
  for (const std::string& cmd : kCommands) {
    if (cmd == "run" || cmd == "help") continue;
    EXPECT_NE(cli({cmd, "--help"}).out.find("\n  --json "), std::string::npos) << cmd;
  }
  EXPECT_NE(cli({"switchover", "--help"}).out.find("--candidate MEMBER"), std::string::npos);
  EXPECT_EQ(cli({"help", "chek-config"}).code, 2);
  EXPECT_EQ(cli({"version", "--json"}).out, std::string("{\n  \"version\": \"") +
                                                hftguard::kVersion + "\"\n}\n");
}

// Options are parsed one way for every command: --name VALUE or --name=VALUE, a typo named
// with the closest option, a repeated option refused, the config from --config, else
// $HFTGUARD_CONFIG, else /etc/hftguard/hftguard.yaml.
TEST(Cli, OptionsAreParsedOneWay) {
  const std::string example = kRoot + "/config/hftguard.example.yaml";
  Output typo = cli({"switchover", "engine", "--canidate", "b"});
  EXPECT_EQ(typo.code, 2);
  EXPECT_NE(typo.err.find("unknown option --canidate; did you mean --candidate?"),
            std::string::npos)
      << typo.err;
  EXPECT_NE(typo.err.find("usage: hftguard switchover"), std::string::npos) << typo.err;
  Output twice = cli({"pause", "--config", example, "--reason", "a", "--reason", "b"});
  EXPECT_EQ(twice.code, 2);
  EXPECT_NE(twice.err.find("--reason"), std::string::npos) << twice.err;
  EXPECT_EQ(cli({"maintenance", "--config", example, "begin"}).code, 2);
  // A flag set false is not given: the JSON is asked for only by --json (or --json=true).
  EXPECT_TRUE(cli({"check-config", example, "--json=false"}).out.starts_with(example + ": valid"));
  EXPECT_TRUE(cli({"check-config", example, "--json=true"}).out.starts_with("{"));
  EXPECT_EQ(cli({"status", "extra"}).code, 2);
  EXPECT_EQ(cli({"check-config", "--config=" + example}).code, 0);
  EXPECT_EQ(cli({"check-config", "-c", example}).code, 0);
  // FILE and --config are the same thing: both, naming different files, is a usage error.
  EXPECT_EQ(cli({"check-config", example, "--config", example}).code, 0);
  EXPECT_EQ(cli({"check-config", example, "--config", "/other.yaml"}).code, 2);
  EXPECT_EQ(cli({"events", "--config", example, "--file", "/dev/null"}).code, 2);
  // --help wins over whatever else is wrong, and runs nothing.
  Output help = cli({"maintenance", "bogus", "--reason", "a", "--reason", "b", "--help"});
  EXPECT_EQ(help.code, 0) << help.err;
  EXPECT_TRUE(help.out.starts_with("usage: hftguard maintenance")) << help.out;

  ::setenv("HFTGUARD_CONFIG", example.c_str(), 1);
  Output env = cli({"check-config"});
  Output given = cli({"check-config", "--config", kRoot + "/no/such.yaml"});
  // The variable is a default, not a second --config: FILE and --file still decide alone.
  Output file = cli({"check-config", kRoot + "/config/sandbox.yaml"});
  Output log = cli({"events", "--file", "/dev/null"});
  ::unsetenv("HFTGUARD_CONFIG");
  EXPECT_EQ(file.code, 0) << file.err;
  EXPECT_TRUE(file.out.starts_with(kRoot + "/config/sandbox.yaml: valid")) << file.out;
  EXPECT_EQ(log.code, 0) << log.err;
  EXPECT_EQ(env.code, 0) << env.err;
  EXPECT_TRUE(env.out.starts_with(example + ": valid")) << env.out;
  EXPECT_EQ(given.code, 1) << "--config wins over $HFTGUARD_CONFIG";
  EXPECT_NE(given.err.find("/no/such.yaml"), std::string::npos) << given.err;
  if (!fs::exists("/etc/hftguard/hftguard.yaml")) {
    Output fallback = cli({"check-config"});
    EXPECT_EQ(fallback.code, 1);
    EXPECT_NE(fallback.err.find("/etc/hftguard/hftguard.yaml"), std::string::npos)
        << fallback.err;
  }
}

TEST(Cli, PauseWithoutAReasonIsAUsageError) {
  Output o = cli({"pause", "--config", kRoot + "/config/sandbox.yaml"});
  EXPECT_EQ(o.code, 2) << o.err;
  EXPECT_NE(o.err.find("--reason"), std::string::npos) << o.err;
}

TEST(Cli, UnknownCommandSuggestsTheClosest) {
  Output o = cli({"chek-config", "x"});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("did you mean 'check-config'?"), std::string::npos) << o.err;
}

TEST(Cli, CheckConfigExitsZeroOnTheExample) {
  Output o = cli({"check-config", kRoot + "/config/hftguard.example.yaml"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("valid"), std::string::npos);
  EXPECT_NE(o.out.find("components (9)"), std::string::npos);
  EXPECT_EQ(o.err, "");
}

TEST(Cli, CheckConfigExitsOneWithEveryError) {
  const std::string bad = kRoot + "/tests/data/config/bad/38-several-errors.yaml";
  Output o = cli({"check-config", bad});
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 7) << o.err;  // 6 errors + summary
  EXPECT_NE(o.err.find(bad + ":4:10: level:"), std::string::npos) << o.err;
  EXPECT_EQ(cli({"check-config", kRoot + "/no/such/file.yaml"}).code, 1);
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(cli({"check-config", "a", "b"}).code, 2);
  EXPECT_EQ(cli({"run", "extra"}).code, 2);
  EXPECT_EQ(cli({"run", "--config"}).code, 2);
  EXPECT_EQ(cli({"run", "--bogus", "x"}).code, 2);
}

TEST(Cli, DrillUsageErrorsExitTwoBeforeTouchingAnything) {
  const std::string sandbox = kRoot + "/config/sandbox.yaml";
  Output none = cli({"drill", "--config", sandbox});
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("--scenario"), std::string::npos) << none.err;
  Output unknown = cli({"drill", "--config", sandbox, "--scenario", "engine-crsh"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.err.find("no scenario 'engine-crsh'"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("did you mean 'engine-crash'?"), std::string::npos) << unknown.err;
  Output repeat =
      cli({"drill", "--config", sandbox, "--scenario", "engine-crash", "--repeat", "zero"});
  EXPECT_EQ(repeat.code, 2);
  EXPECT_NE(repeat.err.find("--repeat must be 1..1000"), std::string::npos) << repeat.err;
}

TEST(Cli, RunRefusesAnInvalidConfigBeforeStartingAnything) {
  Output o = cli({"run", "--config", kRoot + "/tests/data/config/bad/10-bad-tier.yaml"});
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.err.find("nothing was started"), std::string::npos);
}

}  // namespace

namespace {

// A small event log with two components, an old event and a malformed line.
std::string writeLog(const fs::path& dir) {
  const std::string path = (dir / "events.json").string();
  std::ofstream out(path);
  const auto line = [](const std::string& id, const std::string& ts, const std::string& comp,
                       const std::string& type) {
    return "{\"id\":\"" + id + "\",\"ts\":\"" + ts + "\",\"node\":\"n1\",\"component\":\"" + comp +
           "\",\"type\":\"" + type + "\",\"reason\":\"r-" + id +
           "\",\"tier\":\"component\",\"rule\":\"fall\"}\n";
  };
  out << line("1", "2026-11-26T00:55:00.000Z", "a", "check_failed") << "not json at all\n"
      << line("2", "2026-11-26T01:00:00.000Z", "a", "failover_triggered")
      << line("3", "2026-11-26T01:00:01.000Z", "b", "check_failed")
      << "{\"id\":\"partial";  // a line still being written is not read
  return path;
}

TEST(CliEvents, FiltersAndFormats) {
  const fs::path dir = fs::temp_directory_path() / ("hftguard-cli-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string log = writeLog(dir);
  Output all = cli({"events", "--file", log});
  EXPECT_EQ(all.code, 0);
  EXPECT_EQ(std::count(all.out.begin(), all.out.end(), '\n'), 3) << all.out;
  EXPECT_NE(all.err.find("skipped 1 malformed"), std::string::npos);
  Output a = cli(
      {"events", "--file", log, "--component", "a", "--since", "2026-11-26T00:58:00Z", "--json"});
  EXPECT_EQ(a.out,
            "{\"id\":\"2\",\"ts\":\"2026-11-26T01:00:00.000Z\",\"node\":\"n1\",\"component\":\"a\","
            "\"type\":\"failover_triggered\",\"reason\":\"r-2\",\"tier\":\"component\",\"rule\":"
            "\"fall\"}\n");
  EXPECT_EQ(cli({"events", "--file", log, "--since", "whenever"}).code, 2);
  // --type, and --since with an offset (the same instant as 00:58:00Z).
  Output typed = cli({"events", "--file", log, "--type", "failover_triggered", "--since",
                      "2026-11-26T01:58:00+01:00", "--json"});
  EXPECT_EQ(typed.out, a.out);
  Output explain = cli({"explain", "--file", log, "2"});
  EXPECT_EQ(explain.code, 0);
  EXPECT_NE(explain.out.find("rule: fall"), std::string::npos) << explain.out;
  EXPECT_NE(explain.out.find("r-1"), std::string::npos) << "an earlier event of the component";
  EXPECT_EQ(explain.out.find("r-3"), std::string::npos) << "another component's event";
  EXPECT_EQ(cli({"explain", "--file", log, "nope"}).code, 1);
  // With a config, a component it does not have is an error (a typo), not an empty list.
  Output typo = cli({"events", "--config", kRoot + "/config/hftguard.example.yaml", "--component",
                     "trading_engin"});
  EXPECT_EQ(typo.code, 2);
  EXPECT_NE(typo.err.find("no component 'trading_engin'"), std::string::npos) << typo.err;
  EXPECT_NE(typo.err.find("trading_engine"), std::string::npos) << typo.err;
  fs::remove_all(dir);
}

}  // namespace

namespace {

// Asking for etcd coordination in a build that only has `local` must stop the daemon, not
// run it without leader election.
TEST(CliFailover, RefusesToRunAPlanBesideTheEtcdLeader) {
  const fs::path dir = fs::temp_directory_path() / ("hftguard-coord-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string config = (dir / "c.yaml").string();
  std::ofstream(config) << "node: {name: n1}\n"
                        << "event_log: {path: " << (dir / "events.json").string() << "}\n"
                        << "maintenance: {path: " << (dir / "m.json").string() << "}\n"
                        << "coordination: {type: etcd, endpoints: ['http://127.0.0.1:1']}\n"
                        << "plans: {p: {steps: [{action: exec, argv: [/bin/true], timeout: 1s}]}}\n"
                        << "components:\n  c: {tier: hot, rto_target: 1m, plan: p, checks: {t: "
                           "{type: tcp, host: 127.0.0.1, port: 1}}}\n";
  Output o = cli({"failover", "--config", config, "c"});
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.err.find("the leading daemon runs every plan of the cluster"), std::string::npos)
      << o.err;
  fs::remove_all(dir);
}

}  // namespace

namespace {

using nlohmann::json;

// --json prints one document on stdout that parses; nothing else goes there.
json parsed(const Output& o) {
  json j = json::parse(o.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << o.out << o.err;
  return j;
}

TEST(CliJson, CheckConfigValidAndInvalid) {
  Output ok = cli({"check-config", kRoot + "/config/hftguard.example.yaml", "--json"});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(ok.err, "");
  json j = parsed(ok);
  EXPECT_EQ(j["valid"], true);
  EXPECT_EQ(j["errors"].size(), 0u);
  ASSERT_EQ(j["summary"]["components"].size(), 9u);
  const json& engine = j["summary"]["components"][0];
  EXPECT_TRUE(engine["rto_target_seconds"].is_number()) << engine;
  EXPECT_FALSE(engine["checks"].empty()) << engine;
  EXPECT_EQ(j["summary"]["alert_channels"][0]["secrets"].begin()->get<std::string>().find("file "),
            0u)
      << "a secret appears only as its origin";

  const std::string bad = kRoot + "/tests/data/config/bad/38-several-errors.yaml";
  Output no = cli({"check-config", bad, "--json"});
  EXPECT_EQ(no.code, 1);
  EXPECT_EQ(no.err, "");
  json e = parsed(no);
  EXPECT_EQ(e["valid"], false);
  EXPECT_FALSE(e.contains("summary"));
  ASSERT_EQ(e["errors"].size(), 6u) << e;
  EXPECT_EQ(e["errors"][0]["file"], bad);
  EXPECT_EQ(e["errors"][0]["line"], 4);
  EXPECT_EQ(e["errors"][0]["column"], 10);
  EXPECT_TRUE(e["errors"][0]["message"].get<std::string>().starts_with("level:")) << e;
}

TEST(CliJson, ExplainGivesTheEventAndWhatLedToIt) {
  const fs::path dir = fs::temp_directory_path() / ("hftguard-explain-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string log = writeLog(dir);
  Output o = cli({"explain", "--file", log, "2", "--json"});
  EXPECT_EQ(o.code, 0) << o.err;
  json j = parsed(o);
  EXPECT_EQ(j["event"]["id"], "2");
  EXPECT_EQ(j["event"]["rule"], "fall");
  ASSERT_EQ(j["leading"].size(), 1u) << j;
  EXPECT_EQ(j["leading"][0]["id"], "1") << "only the component's, and not the other one's";
  fs::remove_all(dir);
}

// The offline commands on a small config: roles, maintenance, a probe and a dry run, each
// with --json, each document read back.
class CliJsonOffline : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("hftguard-json-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    config_ = (dir_ / "hftguard.yaml").string();
    std::ofstream(config_)
        << "node: {name: n1}\n"
        << "event_log: {path: " << (dir_ / "events.json").string() << "}\n"
        << "maintenance: {path: " << (dir_ / "maintenance.json").string() << "}\n"
        << "control_api: {enabled: false}\n"
        << "plans:\n  move:\n    steps:\n"
        << "      - {name: mark, action: exec, argv: [/bin/echo, from-the-child], timeout: 5s}\n"
        << "components:\n  engine:\n    tier: hot\n    rto_target: 30s\n    plan: move\n"
        << "    members:\n      engine_a: {host: 127.0.0.1}\n      engine_b: {host: 127.0.0.1}\n"
        << "    primary: engine_a\n"
        << "    checks:\n      port: {type: tcp, host: 127.0.0.1, port: 1, timeout: 200ms}\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  Output run(std::vector<std::string> args) {
    args.insert(args.begin() + 1, {"--config", config_});
    return cli(args);
  }

  fs::path dir_;
  std::string config_;
};

TEST_F(CliJsonOffline, MemberGivesTheRoles) {
  Output o = run({"member", "engine", "--json"});
  EXPECT_EQ(o.code, 0) << o.err;
  json j = parsed(o);
  EXPECT_EQ(j["component"], "engine");
  EXPECT_EQ(j["roles"]["primary"], "engine_a") << j;
  EXPECT_EQ(run({"member", "engin", "--json"}).code, 2);
}

TEST_F(CliJsonOffline, MaintenanceStartListEnd) {
  Output none = run({"maintenance", "list", "--json"});
  EXPECT_EQ(none.code, 0) << none.err;
  EXPECT_EQ(parsed(none), json({{"windows", json::array()}}));
  Output start = run({"maintenance", "start", "--component", "engine", "--for", "1h", "--reason",
                      "kernel patch", "--owner", "sre", "--json"});
  EXPECT_EQ(start.code, 0) << start.err;
  json s = parsed(start);
  EXPECT_EQ(s["action"], "start");
  EXPECT_EQ(s["component"], "engine");
  EXPECT_EQ(s["where"], "host");
  json list = parsed(run({"maintenance", "list", "--json"}));
  ASSERT_EQ(list["windows"].size(), 1u) << list;
  const json& w = list["windows"][0];
  EXPECT_EQ(w["component"], "engine");
  EXPECT_EQ(w["owner"], "sre");
  EXPECT_EQ(w["reason"], "kernel patch");
  EXPECT_EQ(w["paused"], false);
  EXPECT_EQ(w["scope"], "host");
  EXPECT_TRUE(w["expires"].is_string()) << w;
  EXPECT_EQ(parsed(run({"maintenance", "end", "--component", "engine", "--json"}))["action"],
            "end");
  EXPECT_EQ(parsed(run({"maintenance", "list", "--json"}))["windows"].size(), 0u);
}

TEST_F(CliJsonOffline, ProbeGivesEachResult) {
  Output o = run({"probe", "engine/port", "--json"});
  EXPECT_EQ(o.code, 1) << "port 1 refuses: the check fails";
  json j = parsed(o);
  EXPECT_EQ(j["healthy"], false);
  ASSERT_EQ(j["results"].size(), 1u) << j;
  const json& r = j["results"][0];
  EXPECT_EQ(r["component"], "engine");
  EXPECT_EQ(r["check"], "port");
  EXPECT_EQ(r["type"], "tcp");
  EXPECT_NE(r["status"], "ok");
  EXPECT_FALSE(r["reason"].get<std::string>().empty());
  EXPECT_TRUE(r["latency_ms"].is_number());
}

TEST_F(CliJsonOffline, FailoverPrintsEachEventAsAJsonLine) {
  Output o = run({"failover", "engine", "--dry-run", "--json"});
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  std::istringstream lines(o.out);
  std::vector<std::string> types;
  for (std::string line; std::getline(lines, line);) {
    json e = json::parse(line, nullptr, false);
    ASSERT_FALSE(e.is_discarded()) << line;
    EXPECT_EQ(e["component"], "engine") << line;
    types.push_back(e["type"]);
  }
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types.back(), "failover_completed") << o.out;
}

// An empty `--reason=` is an empty reason; it never eats the next argument (here the
// --dry-run that keeps the plan from changing anything).
TEST_F(CliJsonOffline, AnEmptyValueNeverTakesTheNextArgument) {
  EXPECT_EQ(run({"failover", "engine", "--force"}).code, 2) << "--force without --abandon";
  Output o = run({"failover", "engine", "--reason=", "--dry-run", "--json"});
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  std::istringstream lines(o.out);
  std::size_t n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    json e = json::parse(line, nullptr, false);
    ASSERT_FALSE(e.is_discarded()) << line;
    EXPECT_EQ(e.value("dry_run", true), true) << line;
  }
  EXPECT_GT(n, 0u);
  EXPECT_FALSE(fs::exists(dir_ / "cluster_state.json")) << "a dry run moved the roles";
}

// A real failover with --json: stdout holds the events alone - the plan's `exec` child
// writes to stderr - and they are the ones the event log holds.
TEST_F(CliJsonOffline, ARealFailoverPrintsOnlyItsEvents) {
  const std::string captured = (dir_ / "stdout.txt").string();
  std::fflush(stdout);
  const int saved = ::dup(1);
  const int file = ::open(captured.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(file, 0);
  ::dup2(file, 1);
  Output o = run({"failover", "engine", "--reason", "test", "--json"});
  std::fflush(stdout);
  ::dup2(saved, 1);
  ::close(saved);
  ::close(file);
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  std::ifstream in(captured);
  const std::string leaked((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(leaked.find("from-the-child"), std::string::npos) << "the child wrote to stdout";
  std::istringstream lines(o.out);
  std::set<std::string> printed;
  for (std::string line; std::getline(lines, line);) {
    json e = json::parse(line, nullptr, false);
    ASSERT_FALSE(e.is_discarded()) << line;
    printed.insert(e["id"].get<std::string>());
  }
  std::ifstream log(dir_ / "events.json");
  std::set<std::string> logged;
  for (std::string line; std::getline(log, line);) {
    json e = json::parse(line, nullptr, false);
    if (!e.is_discarded()) logged.insert(e["id"].get<std::string>());
  }
  EXPECT_FALSE(printed.empty());
  EXPECT_EQ(printed, logged);
}

}  // namespace

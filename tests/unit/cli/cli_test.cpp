// The command line as an operator meets it: help, version, check-config's exit codes.

#include "hftguard/cli/cli.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
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
  for (const char* cmd : {"run --config FILE", "check-config FILE", "version", "help"}) {
    EXPECT_NE(help.out.find(cmd), std::string::npos) << cmd;
  }
  EXPECT_EQ(cli({}).code, 2);
}

TEST(Cli, EveryCommandHasItsOwnHelp) {
  for (const char* cmd : {"run", "check-config", "probe", "events", "explain", "failover",
                          "alert-test", "drill", "maintenance", "member", "status", "pause",
                          "resume"}) {
    Output o = cli({cmd, "--help"});
    EXPECT_EQ(o.code, 0) << cmd << ": " << o.err;
    EXPECT_TRUE(o.out.starts_with(std::string("usage: hftguard ") + cmd)) << o.out;
    EXPECT_EQ(cli({cmd, "-h"}).code, 0) << cmd;
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
  EXPECT_EQ(cli({"check-config"}).code, 2);
  EXPECT_EQ(cli({"check-config", "a", "b"}).code, 2);
  EXPECT_EQ(cli({"run"}).code, 2);
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

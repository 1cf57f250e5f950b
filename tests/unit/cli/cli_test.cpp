// The command line as an operator meets it: help, version, check-config's exit codes.

#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>

#include "hftguard/cli/cli.hpp"
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

TEST(Cli, RunRefusesAnInvalidConfigBeforeStartingAnything) {
  Output o = cli({"run", "--config", kRoot + "/tests/data/config/bad/10-bad-tier.yaml"});
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.err.find("nothing was started"), std::string::npos);
}

}  // namespace

// How a process check recognises its process: the real executable, whole argv elements.

#include "../../../src/probes/process_match.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace hftguard::probes::process_match;

namespace {

using Argv = std::vector<std::string>;

TEST(ExeMatch, ByNameOrWholePath) {
  EXPECT_TRUE(exeMatches("/opt/te/bin/trading-engine", "trading-engine"));
  EXPECT_TRUE(exeMatches("/opt/te/bin/trading-engine", "/opt/te/bin/trading-engine"));
  EXPECT_FALSE(exeMatches("/opt/te/bin/trading-engine", "/opt/other/trading-engine"));
  EXPECT_FALSE(exeMatches("/opt/te/bin/trading-engine-replay", "trading-engine"));
  EXPECT_FALSE(exeMatches("/usr/bin/sleep", "trading-engine"));
  EXPECT_FALSE(exeMatches("/usr/bin/sleep", ""));
}

TEST(ExeMatch, AReplacedBinaryIsStillTheProcesssExecutable) {
  const ExeLink link = parseExeLink("/opt/te/bin/trading-engine (deleted)");
  EXPECT_EQ(link.path, "/opt/te/bin/trading-engine");
  EXPECT_TRUE(link.deleted);
  EXPECT_TRUE(exeMatches(link.path, "trading-engine"));
  EXPECT_FALSE(parseExeLink("/opt/te/bin/trading-engine").deleted);
}

TEST(ArgvMatch, APrefixOfWholeElements) {
  const Argv argv = {"/opt/te/bin/trading-engine", "--config", "/etc/te/a.yaml", "--verbose"};
  EXPECT_TRUE(argvMatches(argv, {"trading-engine"}));
  EXPECT_TRUE(argvMatches(argv, {"trading-engine", "--config", "/etc/te/a.yaml"}));
  EXPECT_TRUE(argvMatches(argv, {"/opt/te/bin/trading-engine", "--config"}));
  EXPECT_TRUE(argvMatches(argv, argv));
  EXPECT_FALSE(argvMatches(argv, {"trading-engine", "--config", "/etc/te/b.yaml"}));
  EXPECT_FALSE(argvMatches(argv, {"trading-engine", "--conf"}));  // no partial elements
  EXPECT_FALSE(argvMatches(argv, {"trading"}));
  EXPECT_FALSE(argvMatches(argv, {"--config", "/etc/te/a.yaml"}));  // not from argv[0]
  Argv longer = argv;
  longer.push_back("extra");
  EXPECT_FALSE(argvMatches(argv, longer));
  EXPECT_FALSE(argvMatches(argv, {}));
  EXPECT_FALSE(argvMatches({}, {"trading-engine"}));
}

// pgrep -f's trap: the engine's name inside another program's arguments.
TEST(ArgvMatch, OtherProgramsNamingTheEngineDoNotMatch) {
  const Argv pattern = {"trading-engine"};
  EXPECT_FALSE(argvMatches({"tail", "-f", "/var/log/trading-engine.log"}, pattern));
  EXPECT_FALSE(argvMatches({"tail", "-f", "trading-engine"}, pattern));
  EXPECT_FALSE(argvMatches({"vim", "trading-engine"}, pattern));
  EXPECT_FALSE(argvMatches({"grep", "trading-engine", "x.log"}, pattern));
  EXPECT_FALSE(argvMatches({"/usr/bin/trading-engine-ctl", "status"}, pattern));
}

TEST(ArgvMatch, AScriptUnderAnInterpreter) {
  const Argv argv = {"/usr/bin/python3", "/opt/te/engine.py", "--role", "primary"};
  EXPECT_TRUE(argvMatches(argv, {"python3", "/opt/te/engine.py"}));
  EXPECT_FALSE(argvMatches(argv, {"engine.py"}));
}

TEST(Cmdline, SplitsAtNulsKeepingEmptyAndSpacedElements) {
  EXPECT_EQ(splitCmdline(std::string("a\0b c\0\0d\0", 9)), (Argv{"a", "b c", "", "d"}));
  EXPECT_EQ(splitCmdline("rewritten title"), (Argv{"rewritten title"}));
  EXPECT_EQ(splitCmdline(""), Argv{});
}

class FakeProcExe : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("hftguard-procexe-" + std::to_string(::getpid()));
    fs::create_directories(root_ / "12");
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(FakeProcExe, ReadsTheLinkAndTheArgv) {
  fs::create_symlink("/opt/te/bin/trading-engine (deleted)", root_ / "12/exe");
  std::ofstream(root_ / "12/cmdline", std::ios::binary)
      << std::string("trading-engine\0--config\0/etc/x\0", 31);
  const ExeRead exe = readExe(root_.string(), 12);
  ASSERT_TRUE(exe.link);
  EXPECT_EQ(exe.link->path, "/opt/te/bin/trading-engine");
  EXPECT_TRUE(exe.link->deleted);
  EXPECT_EQ(readArgv(root_.string(), 12), (Argv{"trading-engine", "--config", "/etc/x"}));
  const ExeRead gone = readExe(root_.string(), 13);
  EXPECT_FALSE(gone.link);
  EXPECT_EQ(gone.error, ENOENT);
  EXPECT_FALSE(readArgv(root_.string(), 13));
}

}  // namespace

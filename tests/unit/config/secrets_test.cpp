// Secrets come only from *_file keys or ${ENV_VAR}, and never appear in output.

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "hftguard/cli/cli.hpp"
#include "hftguard/config/loader.hpp"

namespace fs = std::filesystem;
using namespace hftguard::config;

namespace {

const std::string kNode = "node: {name: n1}\n";
const std::string kComponent =
    "components:\n  c:\n    tier: cold\n    rto_target: 1m\n    checks:\n"
    "      t: {type: tcp, host: 127.0.0.1, port: 1}\n";

class Secrets : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hftguard-secrets-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "s");
    std::ofstream(dir_ / "s/token") << "file-secret-value\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  LoadResult loadText(const std::string& yaml) {
    LoadOptions o;
    o.env = [](const std::string& n) -> std::optional<std::string> {
      if (n == "TOKEN_VAR") return "env-secret-value";
      return std::nullopt;
    };
    return loadConfigString(yaml, (dir_ / "hftguard.yaml").string(), o);
  }

  fs::path dir_;
};

TEST_F(Secrets, RelativeFileIsResolvedAgainstTheConfigDirectory) {
  auto r = loadText(kNode + kComponent + "control_api: {token_file: s/token}\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->control_api.token->reveal(), "file-secret-value");
  EXPECT_EQ(r.config->control_api.token->describe(), "file " + (dir_ / "s/token").string());
}

TEST_F(Secrets, EnvironmentReference) {
  auto r = loadText(kNode + kComponent + "control_api: {token: '${TOKEN_VAR}'}\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->control_api.token->reveal(), "env-secret-value");
  EXPECT_EQ(r.config->control_api.token->describe(), "env TOKEN_VAR");
}

TEST_F(Secrets, ALiteralIsRejectedWithoutBeingEchoed) {
  auto r = loadText(kNode + kComponent + "control_api: {token: literal-secret-value}\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 8);
  EXPECT_EQ(r.errors[0].message.find("literal-secret-value"), std::string::npos);
  auto partial = loadText(kNode + kComponent + "control_api: {token: 'x${TOKEN_VAR}'}\n");
  EXPECT_FALSE(partial.ok());
}

TEST(SecretsOutput, CheckConfigPrintsOnlyWhereSecretsCameFrom) {
  const fs::path example = fs::path(HFTGUARD_SOURCE_DIR) / "config/hftguard.example.yaml";
  std::ostringstream out, err;
  ASSERT_EQ(hftguard::cli::run({"check-config", example.string()}, out, err), 0) << err.str();
  for (const char* secret : {"0123456789abcdef0123456789abcdef", "change-me-smtp-password",
                             "change-me-control-token", "http://127.0.0.1:18500/slack"}) {
    EXPECT_EQ(out.str().find(secret), std::string::npos) << secret;
    EXPECT_EQ(err.str().find(secret), std::string::npos) << secret;
  }
  EXPECT_NE(out.str().find("routing_key from file"), std::string::npos);
}

}  // namespace

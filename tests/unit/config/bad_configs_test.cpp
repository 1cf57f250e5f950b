// Every file in tests/data/config/bad/ must be rejected with exactly the errors listed in
// the .expected file beside it ("line:col: message" per line, all of them, in order).

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hftguard/config/loader.hpp"

#include "test_env.hpp"

namespace fs = std::filesystem;
using hftguard::config::loadConfigFile;
using hftguard::config::LoadOptions;

namespace {

using hftguard::testing::testEnv;

const fs::path kBadDir = fs::path(HFTGUARD_SOURCE_DIR) / "tests/data/config/bad";

std::vector<std::string> readLines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::vector<fs::path> badConfigs() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kBadDir)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class BadConfig : public ::testing::TestWithParam<fs::path> {};

TEST_P(BadConfig, ReportsExactlyTheExpectedErrors) {
  const fs::path& file = GetParam();
  fs::path expectedFile = file;
  expectedFile.replace_extension(".expected");
  ASSERT_TRUE(fs::exists(expectedFile)) << expectedFile;

  auto result = loadConfigFile(file.string(), testEnv());
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.config, nullptr);
  std::vector<std::string> actual;
  const std::string prefix = file.string() + ":";
  for (const auto& e : result.errors) {
    const std::string formatted = e.format();
    ASSERT_TRUE(formatted.starts_with(prefix)) << formatted;
    EXPECT_EQ(formatted,
              prefix + std::to_string(e.line) + ":" + std::to_string(e.column) + ": " + e.message);
    actual.push_back(formatted.substr(prefix.size()));
  }
  EXPECT_EQ(actual, readLines(expectedFile));
}

std::string caseName(const ::testing::TestParamInfo<fs::path>& info) {
  std::string name = info.param.stem().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(All, BadConfig, ::testing::ValuesIn(badConfigs()), caseName);

TEST(BadConfigs, AtLeastThirtyCases) { EXPECT_GE(badConfigs().size(), 30u); }

TEST(BadConfigs, SeveralErrorsInOneFileAreReportedTogether) {
  auto result = loadConfigFile((kBadDir / "38-several-errors.yaml").string(), testEnv());
  EXPECT_EQ(result.errors.size(), 6u);
}

}  // namespace

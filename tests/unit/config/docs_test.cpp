// docs/config.md must document every key the loader accepts, in the block of its section or
// kind, with the schema's default; and must not document keys the loader rejects.

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "hftguard/config/schema.hpp"

namespace {

using hftguard::config::KeySpec;
using hftguard::config::ValueKind;

struct Row {
  std::string key_cell;
  std::string default_cell;
};

// Heading text inside backticks -> key -> row.
using Blocks = std::map<std::string, std::map<std::string, Row>>;

Blocks parseDocs() {
  std::ifstream in(std::filesystem::path(HFTGUARD_SOURCE_DIR) / "docs/config.md");
  EXPECT_TRUE(in.good());
  static const std::regex heading(R"(^#+ `([^`]+)`\s*$)");
  static const std::regex row(R"(^\| (`([a-z_]+)`[^|]*)\|[^|]*\| ([^|]*) \|)");
  Blocks blocks;
  std::string current;
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (line.starts_with("#")) {
      current = std::regex_match(line, m, heading) ? m[1].str() : std::string();
    } else if (!current.empty() && std::regex_search(line, m, row)) {
      blocks[current][m[2]] = {m[1], m[3]};
    }
  }
  return blocks;
}

std::string expectedDefault(const KeySpec& k) {
  if (k.required) return "**required**";
  if (k.default_text.empty()) return "—";
  return "`" + std::string(k.default_text) + "`";
}

void checkBlock(const Blocks& blocks, const std::string& name, const std::vector<KeySpec>& keys) {
  auto it = blocks.find(name);
  ASSERT_NE(it, blocks.end()) << "docs/config.md has no heading `" << name << "`";
  const auto& rows = it->second;
  for (const KeySpec& k : keys) {
    const std::string key(k.key);
    auto r = rows.find(key);
    if (r == rows.end()) {
      ADD_FAILURE() << "docs/config.md: `" << key << "` accepted in `" << name
                    << "` but not documented there";
      continue;
    }
    EXPECT_EQ(r->second.default_cell, expectedDefault(k)) << name << " / " << key;
    if (k.kind == ValueKind::SecretRef) {
      EXPECT_NE(r->second.key_cell.find("`" + key + "_file`"), std::string::npos)
          << name << ": secret " << key << " must also document " << key << "_file";
    }
  }
  for (const auto& [key, row] : rows) {
    bool known =
        std::any_of(keys.begin(), keys.end(), [&](const KeySpec& k) { return k.key == key; });
    EXPECT_TRUE(known) << "docs/config.md documents `" << key << "` in `" << name
                       << "`, which the loader does not accept";
  }
}

TEST(ConfigDocs, EverySectionKeyIsDocumentedWithItsDefault) {
  const Blocks blocks = parseDocs();
  for (const auto& s : hftguard::config::sections())
    checkBlock(blocks, std::string(s.path), s.keys);
}

TEST(ConfigDocs, EveryKindKeyIsDocumentedWithItsDefault) {
  const Blocks blocks = parseDocs();
  for (const auto& k : hftguard::config::kinds()) {
    checkBlock(blocks, std::string(k.family) + ": " + std::string(k.type), k.keys);
  }
}

}  // namespace

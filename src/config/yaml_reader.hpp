#pragma once
// Private to the loader: reads one YAML map against its KeySpecs into Params, collecting
// every error with its position instead of stopping at the first.

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "hftguard/config/loader.hpp"
#include "hftguard/config/params.hpp"
#include "hftguard/config/schema.hpp"

namespace hftguard::config::detail {

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}
  void error(const YAML::Mark& at, std::string message);
  bool empty() const { return errors_.empty(); }
  std::vector<ConfigError> take();

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
};

struct ReaderContext {
  Diagnostics& diag;
  EnvLookup env;
  std::filesystem::path base_dir;
  // Set while a check is read for one member: fills {primary.*}/{standby.*} in each scalar
  // value (given its key and position) before it is parsed.
  std::function<std::string(const YAML::Mark&, std::string_view key, const std::string&)>
      substitute = {};
};

struct SectionValues {
  Params params;  // scalar-like keys, present or defaulted
  std::map<std::string, YAML::Node, std::less<>> children;  // Section, Sections, List keys
  std::map<std::string, YAML::Mark, std::less<>> marks;     // value position of keys present
  YAML::Mark owner;                                         // where the section is named

  bool present(std::string_view key) const { return marks.find(key) != marks.end(); }
  const YAML::Mark& markOf(std::string_view key) const;
  // A child map, or an empty node when absent.
  YAML::Node child(std::string_view key) const;
};

using SpecList = std::vector<const KeySpec*>;

SpecList specsOf(const SectionSpec& section);
SpecList specsOf(const SectionSpec& common, const KindSpec& kind);

// What readSection reports beyond bad values. Both are turned off to avoid a cascade of
// errors from one mistake: unknown keys when the section's type is already wrong, missing
// keys when the whole section is absent or not a map.
struct Reporting {
  bool unknown = true;
  bool missing = true;
};

// Reads `node` (a map; null counts as empty) against `specs` and fills in defaults, also
// for values that failed to parse. `where` names the section in messages
// ("components.trading_engine").
SectionValues readSection(ReaderContext& ctx, const YAML::Node& node, const YAML::Mark& owner,
                          const std::string& where, const SpecList& specs, Reporting report = {});

// Calls fn(name, name_mark, value) for each entry of a name -> map section; reports a
// non-map node, duplicate names and names that are not [a-z0-9_][a-z0-9_.-]*.
void forEachNamed(
    ReaderContext& ctx, const YAML::Node& node, const std::string& where,
    const std::function<void(const std::string&, const YAML::Mark&, const YAML::Node&)>& fn);

// The scalar at node[key] when it is one, for peeking at a section's `type` first.
std::optional<std::string> peekScalar(const YAML::Node& map, const std::string& key);

std::string describe(const YAML::Node& node);  // "a map", "a sequence", "nothing"...

}  // namespace hftguard::config::detail

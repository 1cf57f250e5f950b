#pragma once
// A small argument parser for subcommands: --name VALUE, --name=VALUE, --flag, positionals.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace hftguard::cli {

struct ArgSpec {
  std::set<std::string> options = {};  // take a value
  std::set<std::string> flags = {};    // take none
  std::size_t min_positional = 0;
  std::size_t max_positional = 0;
};

struct Args {
  std::map<std::string, std::string> options;
  std::set<std::string> flags;
  std::vector<std::string> positional;

  std::optional<std::string> option(const std::string& name) const;
  bool flag(const std::string& name) const { return flags.count(name) > 0; }
};

// Fills `out`, or returns a one-line usage error.
std::optional<std::string> parseArgs(const std::vector<std::string>& argv, const ArgSpec& spec,
                                     Args& out);

}  // namespace hftguard::cli

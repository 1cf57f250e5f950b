#pragma once
// A command's options as declared (for CLI11, which parses them and writes the per-command
// help) and as parsed (what the command reads). CLI11 itself stays in args.cpp.

#include <iosfwd>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace hftguard::cli {

// Where every command looks for the config when neither --config nor $HFTGUARD_CONFIG names one.
inline constexpr const char* kDefaultConfigPath = "/etc/hftguard/hftguard.yaml";

struct OptionSpec {
  std::string name;   // without the dashes
  std::string value;  // the value's name in the help (FILE, TEXT...); empty: a flag
  std::string help;
  bool required = false;
};

struct PositionalSpec {
  std::string name;  // as the help shows it (COMPONENT)
  std::string help;
  bool required = true;
  std::vector<std::string> choices = {};  // when not empty, the only values taken
};

struct CommandSpec {
  std::string name;
  std::string synopsis;  // the usage line after "hftguard "
  std::string summary;
  std::vector<OptionSpec> options = {};
  std::vector<PositionalSpec> positionals = {};
  bool config = true;  // takes -c/--config FILE (one way everywhere: see Args::config)
  bool json = false;   // takes --json: what it prints, as JSON
};

struct Args {
  std::map<std::string, std::string> options;  // given options, by name
  std::set<std::string> flags;                 // given flags
  std::vector<std::string> positional;         // given positionals, in order
  // The config file: --config, else $HFTGUARD_CONFIG, else kDefaultConfigPath.
  std::string config = kDefaultConfigPath;
  bool config_given = false;   // by --config or $HFTGUARD_CONFIG
  bool config_option = false;  // by --config itself (what may conflict with FILE or --file)

  std::optional<std::string> option(const std::string& name) const;
  bool flag(const std::string& name) const { return flags.count(name) > 0; }
  bool json() const { return flag("json"); }
};

// Parses `argv` (after the command's name) against `spec` into `args`. Returns the exit code
// when the command must not run: 0 after printing its help (-h, --help), 2 after a usage
// error (the error, the usage line and where the help is, on `err`).
std::optional<int> parseCommand(const CommandSpec& spec, const std::vector<std::string>& argv,
                                Args& args, std::ostream& out, std::ostream& err);

// `hftguard CMD --help`: the usage line, what the command does, each positional and option.
std::string commandHelp(const CommandSpec& spec);

}  // namespace hftguard::cli

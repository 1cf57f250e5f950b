#include "args.hpp"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <ostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include "hftguard/core/suggest.hpp"

namespace hftguard::cli {
namespace {

// CLI11's help with hftguard's usage line (which shows which options go together) first.
class Help : public CLI::Formatter {
 public:
  Help(std::string synopsis, std::string summary)
      : synopsis_(std::move(synopsis)), summary_(std::move(summary)) {
    column_width(34);
  }
  std::string make_help(const CLI::App* app, std::string, CLI::AppFormatMode mode) const override {
    return fmt::format("usage: hftguard {}\n\n{}\n{}{}\nExit codes: 0 ok, 1 failed, 2 usage "
                       "error.\n",
                       synopsis_, summary_, make_positionals(app), make_groups(app, mode));
  }

 private:
  std::string synopsis_;
  std::string summary_;
};

// The declared options bound to storage CLI11 fills; `std::map` keeps references stable.
struct Bound {
  std::map<std::string, std::string> values;
  std::map<std::string, bool> flags;
  std::vector<std::string> positionals;
  std::string config;
  bool json = false;
};

std::unique_ptr<CLI::App> makeApp(const CommandSpec& spec, Bound& b) {
  auto app = std::make_unique<CLI::App>(spec.summary, "hftguard " + spec.name);
  app->formatter(std::make_shared<Help>(spec.synopsis, spec.summary));
  b.positionals.resize(spec.positionals.size());
  for (std::size_t i = 0; i < spec.positionals.size(); ++i) {
    const PositionalSpec& p = spec.positionals[i];
    CLI::Option* o = app->add_option(p.name, b.positionals[i], p.help);
    o->type_name("");
    if (p.required) o->required();
    if (!p.choices.empty()) o->check(CLI::IsMember(p.choices).description(""));  // in `help`
  }
  if (spec.config) {
    app->add_option("-c,--config", b.config,
                    fmt::format("The config file (else $HFTGUARD_CONFIG, else {})",
                                kDefaultConfigPath))
        ->type_name("FILE")
        ->multi_option_policy(CLI::MultiOptionPolicy::Throw);
  }
  for (const OptionSpec& s : spec.options) {
    if (s.value.empty()) {
      app->add_flag("--" + s.name, b.flags[s.name], s.help);
    } else {
      CLI::Option* o = app->add_option("--" + s.name, b.values[s.name], s.help);
      o->type_name(s.value)->multi_option_policy(CLI::MultiOptionPolicy::Throw);
      if (s.required) o->required();
    }
  }
  if (spec.json) app->add_flag("--json", b.json, "Print it as JSON");
  return app;
}

}  // namespace

std::optional<std::string> Args::option(const std::string& name) const {
  auto it = options.find(name);
  if (it == options.end()) return std::nullopt;
  return it->second;
}

std::string commandHelp(const CommandSpec& spec) {
  Bound b;
  return makeApp(spec, b)->help();
}

std::optional<int> parseCommand(const CommandSpec& spec, const std::vector<std::string>& argv,
                                Args& args, std::ostream& out, std::ostream& err) {
  Bound b;
  auto app = makeApp(spec, b);
  // -h/--help wins over everything else given (before a `--`): what an operator asks first.
  const auto dashes = std::find(argv.begin(), argv.end(), "--");
  if (std::any_of(argv.begin(), dashes,
                  [](const std::string& a) { return a == "-h" || a == "--help"; })) {
    out << app->help();
    return 0;
  }
  // `--name=` is an empty value. CLI11 would take the next argument instead (`--reason=
  // --dry-run` would eat the --dry-run): split it into `--name` and "".
  std::vector<std::string> split;
  for (auto it = argv.begin(); it != argv.end(); ++it) {
    if (it < dashes && it->starts_with("--") && it->size() > 3 && it->back() == '=' &&
        it->find('=') == it->size() - 1) {
      split.push_back(it->substr(0, it->size() - 1));
      split.emplace_back();
    } else {
      split.push_back(*it);
    }
  }
  std::vector<std::string> reversed(split.rbegin(), split.rend());  // what CLI11 takes
  try {
    app->parse(reversed);
  } catch (const CLI::CallForHelp&) {
    out << app->help();
    return 0;
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
      // CLI11 lists what is left in reverse; the first one in the operator's order is enough.
      const auto left = app->remaining();
      auto first = std::find_if(argv.begin(), argv.end(), [&](const std::string& a) {
        return std::find(left.begin(), left.end(), a) != left.end();
      });
      if (first != argv.end() && first->starts_with("-")) {
        const std::string name = first->substr(0, first->find('='));
        what = fmt::format("unknown option {}", name);
        std::vector<std::string> known = {"--help"};
        if (spec.config) known.push_back("--config");
        if (spec.json) known.push_back("--json");
        for (const OptionSpec& o : spec.options) known.push_back("--" + o.name);
        std::vector<std::string_view> names(known.begin(), known.end());
        if (auto near = closestMatch(name, names)) what += fmt::format("; did you mean {}?", *near);
      } else if (first != argv.end()) {
        what = fmt::format("unexpected argument '{}'", *first);
      }
    }
    fmt::print(err, "hftguard {}: {}\nusage: hftguard {}\nRun 'hftguard {} --help' for each "
                    "option.\n",
               spec.name, what, spec.synopsis, spec.name);
    return 2;
  }
  for (const OptionSpec& s : spec.options) {
    if (s.value.empty()) {
      if (b.flags[s.name]) args.flags.insert(s.name);  // by value: --force=false is not given
    } else if (app->get_option("--" + s.name)->count() > 0) {
      args.options[s.name] = b.values[s.name];
    }
  }
  if (spec.json && b.json) args.flags.insert("json");
  for (std::size_t i = 0; i < spec.positionals.size(); ++i) {
    if (app->get_option(spec.positionals[i].name)->count() > 0) {
      args.positional.push_back(b.positionals[i]);
    }
  }
  if (spec.config) {
    if (app->get_option("--config")->count() > 0) {
      args.config = b.config;
      args.config_given = args.config_option = true;
    } else if (const char* env = std::getenv("HFTGUARD_CONFIG"); env != nullptr && *env != '\0') {
      args.config = env;
      args.config_given = true;
    }
  }
  return std::nullopt;
}

}  // namespace hftguard::cli

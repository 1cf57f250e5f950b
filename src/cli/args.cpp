#include "args.hpp"

#include <fmt/format.h>

namespace hftguard::cli {

std::optional<std::string> Args::option(const std::string& name) const {
  auto it = options.find(name);
  if (it == options.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> parseArgs(const std::vector<std::string>& argv, const ArgSpec& spec,
                                     Args& out) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--") {
      out.positional.insert(out.positional.end(), argv.begin() + static_cast<long>(i) + 1,
                            argv.end());
      break;
    }
    if (!a.starts_with("--") || a.size() == 2) {
      out.positional.push_back(a);
      continue;
    }
    const auto eq = a.find('=');
    const std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (spec.flags.count(name)) {
      if (eq != std::string::npos) return fmt::format("--{} takes no value", name);
      out.flags.insert(name);
    } else if (spec.options.count(name)) {
      if (eq != std::string::npos) {
        out.options[name] = a.substr(eq + 1);
      } else if (i + 1 < argv.size()) {
        out.options[name] = argv[++i];
      } else {
        return fmt::format("--{} needs a value", name);
      }
    } else {
      return fmt::format("unknown option --{}", name);
    }
  }
  if (out.positional.size() < spec.min_positional) return std::string("missing argument");
  if (out.positional.size() > spec.max_positional) {
    return fmt::format("unexpected argument '{}'", out.positional[spec.max_positional]);
  }
  return std::nullopt;
}

}  // namespace hftguard::cli

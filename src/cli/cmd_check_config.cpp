// hftguard check-config [FILE]: what an operator runs before a reload, and what the systemd
// unit runs before every start. FILE and --config name the same thing (one of them).
#include <ostream>

#include <fmt/ostream.h>

#include "hftguard/config/loader.hpp"
#include "hftguard/config/summary.hpp"

#include "commands.hpp"

namespace hftguard::cli {

int cmdCheckConfig(const Args& args, std::ostream& out, std::ostream& err) {
  std::string path = args.config;
  if (!args.positional.empty()) {
    if (args.config_option && args.positional.front() != args.config) {
      err << "hftguard check-config: give FILE or --config FILE, not both\n";
      return kExitUsage;
    }
    path = args.positional.front();
  }
  if (!args.json()) {
    auto cfg = loadOrReport(path, err);
    if (!cfg) return kExitFailed;
    fmt::print(out, "{}: valid\n{}", path, config::summarize(*cfg));
    return kExitOk;
  }
  // Errors and summary both on stdout: one document to read.
  const config::LoadResult r = config::loadConfigFile(path);
  nlohmann::json errors = nlohmann::json::array();
  for (const config::ConfigError& e : r.errors) {
    errors.push_back(
        {{"file", e.file}, {"line", e.line}, {"column", e.column}, {"message", e.message}});
  }
  nlohmann::json j = {{"file", path}, {"valid", r.ok()}, {"errors", errors}};
  if (r.ok()) j["summary"] = config::summarizeJson(*r.config);
  printJson(out, j);
  return r.ok() ? kExitOk : kExitFailed;
}

}  // namespace hftguard::cli

// hftguard check-config FILE: what an operator runs before a reload, and what the systemd
// unit runs before every start.
#include <ostream>

#include <fmt/ostream.h>

#include "hftguard/config/summary.hpp"

#include "commands.hpp"

namespace hftguard::cli {

int cmdCheckConfig(const Args& args, std::ostream& out, std::ostream& err) {
  const std::string& path = args.positional.front();
  auto cfg = loadOrReport(path, err);
  if (!cfg) return kExitFailed;
  fmt::print(out, "{}: valid\n{}", path, config::summarize(*cfg));
  return kExitOk;
}

}  // namespace hftguard::cli

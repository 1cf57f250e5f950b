// hftguard run [--config FILE]: the daemon. The config is validated before anything starts;
// an invalid config exits 1 with every error, so systemd never runs a half-understood setup.
#include <ostream>

#include <spdlog/spdlog.h>

#include "hftguard/core/duration.hpp"
#include "hftguard/core/logging.hpp"

#include "commands.hpp"
#include "daemon.hpp"

namespace hftguard::cli {

int cmdRun(const Args& args, std::ostream&, std::ostream& err) {
  const std::string levelOption = args.option("log-level").value_or("");
  std::string levelName = levelOption;
  auto cfg = loadOrReport(args.config, err);
  if (!cfg) return kExitFailed;
  if (levelName.empty()) levelName = cfg->log_level;
  auto level = parseLogLevel(levelName);
  if (!level) {
    err << "hftguard run: unknown log level '" << levelName << "'\n";
    return kExitUsage;
  }
  std::optional<Duration> stopTimeout = Duration::zero();  // none: each plan's own deadline
  if (auto text = args.option("stop-timeout")) stopTimeout = parseDuration(*text);
  if (!stopTimeout) {
    err << "hftguard run: --stop-timeout takes a duration (110s, 2m)\n";
    return kExitUsage;
  }
  setupLogging(*level);
  try {
    Daemon daemon(cfg, *stopTimeout, levelOption);
    return daemon.run();
  } catch (const std::runtime_error& e) {
    spdlog::critical("cannot start: {}", e.what());
    return kExitFailed;
  }
}

}  // namespace hftguard::cli

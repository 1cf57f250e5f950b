// hftguard run --config FILE: the daemon. The config is validated before anything starts;
// an invalid config exits 1 with every error, so systemd never runs a half-understood setup.
#include <csignal>
#include <ostream>

#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "hftguard/core/logging.hpp"
#include "hftguard/version.hpp"

namespace hftguard::cli {
namespace {

// Blocks until SIGINT or SIGTERM. Signals are blocked first so none is lost between
// start-up and the wait.
int waitForStop() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) return kExitFailed;
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP: nothing to reopen yet");
      continue;
    }
    spdlog::info("signal {}: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    return kExitOk;
  }
}

}  // namespace

int cmdRun(const Args& args, std::ostream&, std::ostream& err) {
  auto path = configPath(args, err);
  if (!path) return kExitUsage;
  std::string levelName = args.option("log-level").value_or("");
  auto cfg = loadOrReport(*path, err);
  if (!cfg) return kExitFailed;
  if (levelName.empty()) levelName = cfg->log_level;
  auto level = parseLogLevel(levelName);
  if (!level) {
    err << "hftguard run: unknown log level '" << levelName << "'\n";
    return kExitUsage;
  }
  setupLogging(*level);
  spdlog::info("hftguard {} starting: node {} site {}, {} components, config {}", kVersion,
               cfg->node.name, cfg->node.site, cfg->components.size(), *path);
  return waitForStop();
}

}  // namespace hftguard::cli

// hftguard run --config FILE: the daemon. The config is validated before anything starts;
// an invalid config exits 1 with every error, so systemd never runs a half-understood setup.
#include <csignal>
#include <ostream>
#include <random>

#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "hftguard/core/logging.hpp"
#include "hftguard/probes/scheduler.hpp"
#include "hftguard/version.hpp"
#include "runtime.hpp"

namespace hftguard::cli {
namespace {

void logResult(const probes::ProbeResult& r) {
  if (r.ok()) {
    spdlog::debug("{}/{} ok in {:.1f}ms: {}", r.component, r.check,
                  std::chrono::duration<double, std::milli>(r.latency).count(), r.reason);
    return;
  }
  spdlog::warn("{}/{} {}{}: {}", r.component, r.check, probes::toString(r.status),
               r.informational ? " (informational)" : "", r.reason);
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

  Runtime rt(*cfg);
  probes::Scheduler scheduler(rt.env, *cfg, logResult, std::random_device{}());
  boost::asio::signal_set signals(rt.io, SIGINT, SIGTERM, SIGHUP);
  std::function<void(boost::system::error_code, int)> onSignal =
      [&](boost::system::error_code ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          spdlog::info("SIGHUP: config reload is not supported yet; restart to apply changes");
          signals.async_wait(onSignal);
          return;
        }
        spdlog::info("{}: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        scheduler.stop();
        rt.io.stop();
      };
  signals.async_wait(onSignal);

  spdlog::info("hftguard {} starting: node {} site {}, {} components, {} checks, config {}",
               kVersion, cfg->node.name, cfg->node.site, cfg->components.size(), scheduler.size(),
               *path);
  scheduler.start();
  rt.io.run();
  const auto& stats = scheduler.stats();
  spdlog::info("stopped after {} probe runs ({} skipped while busy, {} missed while behind)",
               stats.runs, stats.skipped_busy, stats.skipped_behind);
  return kExitOk;
}

}  // namespace hftguard::cli

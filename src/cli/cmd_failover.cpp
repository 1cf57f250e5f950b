// hftguard failover [--config F] COMPONENT [--dry-run] [--reason TEXT]: runs the component's
// plan now (an operator's decision, or the confirmation of a semi-automatic component).
// A dry run evaluates every step's preconditions for real and changes nothing.
#include <cstdlib>
#include <ostream>

#include <fmt/ostream.h>
#include <spdlog/spdlog.h>

#include "hftguard/actions/runner.hpp"
#include "hftguard/core/logging.hpp"

#include "commands.hpp"
#include "recorder.hpp"
#include "runtime.hpp"

namespace hftguard::cli {

int cmdFailover(const Args& args, std::ostream& out, std::ostream& err) {
  auto cfg = loadOrReport(args.option("config").value_or("/etc/hftguard/hftguard.yaml"), err);
  if (!cfg) return kExitFailed;
  const std::string& name = args.positional.front();
  const config::ComponentConfig* component = cfg->findComponent(name);
  if (component == nullptr || component->plan.empty()) {
    err << "hftguard failover: "
        << (component ? "component '" + name + "' has no plan" : "no component '" + name + "'")
        << "\n";
    return kExitUsage;
  }
  setupLogging(spdlog::level::warn);
  try {
    Runtime rt(*cfg);
    events::EventLog log({cfg->event_log_path, static_cast<std::size_t>(cfg->event_queue_limit),
                          nullptr, nullptr, &rt.io});
    Recorder recorder(log, cfg->node.name, rt.clock);
    auto coordinator = localCoordinator(*cfg);
    actions::ActionEnv env{rt.io, rt.http, rt.workers, rt.clock};
    actions::FailoverRunner runner(
        env, *coordinator,
        [&](const std::string& type, const std::string& comp, const std::string& reason,
            nlohmann::json fields) {
          auto e = recorder.record(type, comp, reason, std::move(fields));
          fmt::print(out, "{}  {:<18} {}\n", events::formatTimestamp(e.at), type, reason);
        },
        [&](std::function<void()> then) { recorder.afterDurable(std::move(then)); });
    const char* user = std::getenv("SUDO_USER") ? std::getenv("SUDO_USER") : std::getenv("USER");
    actions::RunRequest request;
    request.component = name;
    request.plan = cfg->findPlan(component->plan);
    request.dry_run = args.flag("dry-run");
    request.rto_target = component->rto_target;
    request.context = {name,
                       cfg->node.name,
                       component->primary,
                       component->standby,
                       {},
                       {},
                       args.option("reason").value_or(
                           fmt::format("manual failover by {}", user ? user : "operator"))};
    std::optional<actions::RunReport> report;
    if (!runner.start(request, [&](const actions::RunReport& r) { report = r; }))
      return kExitFailed;
    while (!report) rt.io.run_one();
    return report->ok ? kExitOk : kExitFailed;
  } catch (const std::runtime_error& e) {
    err << "hftguard failover: " << e.what() << "\n";
    return kExitFailed;
  }
}

}  // namespace hftguard::cli

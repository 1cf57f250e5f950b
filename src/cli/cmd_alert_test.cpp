// hftguard alert-test [--config F] [--channel NAME] [--json]: one test alert through each channel (or
// the one named), whatever its minimum severity, with the daemon's own delivery - retries
// included, each alert given up after 20 s at most (or alerts.deadline if shorter). A
// PagerDuty test is resolved again once triggered. Each delivery or give-up is printed and
// recorded in the event log. Exit 0 when all arrived.
#include <ostream>

#include <fmt/ostream.h>
#include <spdlog/spdlog.h>

#include "hftguard/alerts/dispatcher.hpp"
#include "hftguard/core/logging.hpp"

#include "commands.hpp"
#include "recorder.hpp"
#include "runtime.hpp"

namespace hftguard::cli {

int cmdAlertTest(const Args& args, std::ostream& out, std::ostream& err) {
  auto cfg = loadOrReport(args.config, err);
  if (!cfg) return kExitFailed;
  const std::string channel = args.option("channel").value_or("");
  if (cfg->alerts.channels.empty()) {
    err << "hftguard alert-test: no alert channels configured\n";
    return kExitFailed;
  }
  setupLogging(spdlog::level::warn);
  Runtime rt(*cfg);
  events::EventLog log({cfg->event_log_path, static_cast<std::size_t>(cfg->event_queue_limit),
                        nullptr, nullptr, &rt.io});
  Recorder recorder(log, cfg->node.name, rt.clock);
  int sent = 0, failed = 0;
  nlohmann::json deliveries = nlohmann::json::array();  // --json
  std::vector<std::string> paged;  // PagerDuty channels to resolve again
  config::Config bounded = *cfg;   // an operator waits for the answer: not 5 minutes
  bounded.alerts.deadline = std::min<Duration>(bounded.alerts.deadline, std::chrono::seconds(20));
  alerts::AlertDispatcher dispatcher(
      rt.io, rt.http, rt.clock, bounded,
      [&](const std::string& type, const std::string& component, const std::string& reason,
          nlohmann::json fields) {
        recorder.record(type, component, reason, fields);
        if (args.json()) {
          nlohmann::json d = fields;
          d["delivered"] = type == "alert_sent";
          d["reason"] = reason;
          deliveries.push_back(std::move(d));
        } else {
          fmt::print(out, "{}  {}\n", type == "alert_sent" ? "sent  " : "FAILED", reason);
        }
        (type == "alert_sent" ? sent : failed)++;
        if (type == "alert_sent" && fields["channel_type"] == "pagerduty" &&
            fields["alert_action"] == "trigger")
          paged.push_back(fields["channel"]);
      });
  alerts::Alert a;
  a.severity = config::Severity::Info;
  a.node = cfg->node.name;
  a.component = "alert-test";
  a.incident = fmt::format("hftguard/{}/alert-test/{}", cfg->node.name,
                           events::formatTimestamp(rt.clock.wallNow()));
  a.title = "TEST: hftguard alert-test from " + cfg->node.name;
  a.summary = "A test alert sent by 'hftguard alert-test'; no action is needed.";
  a.event_type = "alert_test";
  a.at = rt.clock.wallNow();
  if (!dispatcher.submitTo(channel, a)) {
    err << "hftguard alert-test: no channel named '" << channel << "'\n";
    return kExitUsage;
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(45);
  auto drain = [&] {
    while (dispatcher.pending() > 0 && std::chrono::steady_clock::now() < until) {
      turn(rt.io, std::chrono::milliseconds(100));
    }
  };
  drain();
  a.action = alerts::Alert::Action::Resolve;
  for (const auto& name : paged) dispatcher.submitTo(name, a);
  drain();
  const std::size_t unanswered = dispatcher.pending();
  dispatcher.stop();
  const bool ok = failed == 0 && unanswered == 0 && sent > 0;
  if (args.json()) {
    printJson(out, {{"ok", ok},
                    {"sent", sent},
                    {"failed", failed},
                    {"unanswered", unanswered},
                    {"deliveries", deliveries}});
  } else if (unanswered > 0) {
    fmt::print(out, "no outcome within 45s for {} alert(s)\n", unanswered);
  }
  return ok ? kExitOk : kExitFailed;
}

}  // namespace hftguard::cli

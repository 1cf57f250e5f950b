#include "hftguard/config/summary.hpp"

#include <fmt/format.h>

namespace hftguard::config {
namespace {

std::string secretOrigin(const std::optional<Secret>& s) {
  return s ? "from " + s->describe() : std::string("none");
}

std::string stepList(const PlanConfig& plan) {
  std::string out;
  for (const StepConfig& s : plan.steps) {
    out += fmt::format("\n    {:<28} {:<15} timeout {:<6} retries {} on failure {}", s.name,
                       s.action, formatDuration(s.timeout), s.retries, toString(s.on_failure));
  }
  return out;
}

void appendComponents(std::string& out, const Config& cfg) {
  out += fmt::format("components ({}):\n", cfg.components.size());
  for (const ComponentConfig& c : cfg.components) {
    out += fmt::format("  {:<20} {:<4} {:<6} rto {:<6} cooldown {:<5} plan {}\n", c.name,
                       toString(c.tier), toString(c.automation), formatDuration(c.rto_target),
                       formatDuration(c.cooldown), c.plan.empty() ? "-" : c.plan);
    if (!c.members.empty()) {
      std::string members;
      for (const MemberConfig& m : c.members) {
        members += fmt::format("{}{} ({}{})", members.empty() ? "" : ", ", m.name, m.host(),
                               m.name == c.primary   ? ", primary"
                               : m.name == c.standby ? ", standby"
                                                     : "");
      }
      out += fmt::format("    members: {} - the roles before any failover; `hftguard status` "
                         "has the current ones\n",
                         members);
    }
    if (c.switchover) {
      const SwitchoverConfig& w = *c.switchover;
      out += fmt::format("    switchover: pre-checks {}, plan {}, post-checks {}, healthy within {}\n",
                         w.pre_checks.empty() ? "-" : w.pre_checks, w.plan,
                         w.post_checks.empty() ? "-" : w.post_checks,
                         formatDuration(w.healthy_within));
    }
    for (const CheckConfig& k : c.checks) {
      out += fmt::format("    {:<22} {:<10} {:<10} every {:<6} timeout {:<6} fall {} rise {}{}\n",
                         k.name, k.type, toString(k.layer), formatDuration(k.interval),
                         formatDuration(k.timeout), k.fall, k.rise,
                         k.informational ? " (informational)" : "");
    }
  }
}

void appendChannels(std::string& out, const Config& cfg) {
  out += fmt::format("alert channels ({}):\n", cfg.alerts.channels.size());
  for (const ChannelConfig& ch : cfg.alerts.channels) {
    std::string secrets;
    for (const auto& [key, value] : ch.params.all()) {
      if (const Secret* s = std::get_if<Secret>(&value)) {
        secrets += fmt::format(" {} from {}", key, s->describe());
      }
    }
    out += fmt::format("  {:<20} {:<10} min {:<8}{}\n", ch.name, ch.type, toString(ch.min_severity),
                       secrets);
  }
}

}  // namespace

std::string summarize(const Config& cfg) {
  std::string out;
  out += fmt::format("node: {} (site {})\n", cfg.node.name, cfg.node.site);
  out += fmt::format("log level: {}\nevent log: {}\n", cfg.log_level, cfg.event_log_path);
  out += "probe layers:";
  for (std::size_t i = 0; i < kLayerCount; ++i) {
    const LayerTiming& t = cfg.probes.layers[i];
    out += fmt::format(" {} {}/{}", toString(static_cast<Layer>(i)), formatDuration(t.interval),
                       formatDuration(t.timeout));
  }
  out += fmt::format(" (interval/timeout), fall {} rise {}, jitter {}\n", cfg.probes.fall,
                     cfg.probes.rise, formatPercent(cfg.probes.jitter));
  appendComponents(out, cfg);
  out += fmt::format("system tier: {} components within {} -> plan {}\n",
                     cfg.system.min_failed_components, formatDuration(cfg.system.window),
                     cfg.system.plan.empty() ? "- (alert only)" : cfg.system.plan);
  out += fmt::format("plans ({}):\n", cfg.plans.size());
  for (const PlanConfig& p : cfg.plans) {
    out += fmt::format("  {} ({} steps){}\n", p.name, p.steps.size(), stepList(p));
  }
  appendChannels(out, cfg);
  out += fmt::format("coordination: {}", cfg.coordination.type);
  if (cfg.coordination.type == "etcd") {
    out +=
        fmt::format(" endpoints {} lease {} prefix {}", fmt::join(cfg.coordination.endpoints, ","),
                    formatDuration(cfg.coordination.lease_ttl), cfg.coordination.key_prefix);
  }
  const auto& api = cfg.control_api;
  std::vector<std::string> where;
  if (!api.listen.empty()) where.push_back(api.listen);
  if (!api.socket.empty()) where.push_back("unix:" + api.socket);
  out += fmt::format("\ncontrol api: {} token {}\n",
                     !api.enabled ? "disabled"
                     : where.empty() ? "no listener"
                                     : fmt::format("{}", fmt::join(where, " ")),
                     secretOrigin(api.token));
  return out;
}

}  // namespace hftguard::config

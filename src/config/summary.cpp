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

namespace {

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

nlohmann::json checkJson(const CheckConfig& k) {
  return {{"name", k.name},
          {"type", k.type},
          {"layer", toString(k.layer)},
          {"interval_seconds", seconds(k.interval)},
          {"timeout_seconds", seconds(k.timeout)},
          {"fall", k.fall},
          {"rise", k.rise},
          {"informational", k.informational}};
}

nlohmann::json componentJson(const ComponentConfig& c) {
  nlohmann::json j = {{"name", c.name},
                      {"tier", toString(c.tier)},
                      {"automation", toString(c.automation)},
                      {"rto_target_seconds", seconds(c.rto_target)},
                      {"cooldown_seconds", seconds(c.cooldown)},
                      {"plan", c.plan.empty() ? nlohmann::json() : nlohmann::json(c.plan)},
                      {"checks", nlohmann::json::array()}};
  for (const CheckConfig& k : c.checks) j["checks"].push_back(checkJson(k));
  if (!c.members.empty()) {
    j["members"] = nlohmann::json::array();
    for (const MemberConfig& m : c.members) {
      j["members"].push_back({{"name", m.name},
                              {"host", m.host()},
                              {"configured_role", m.name == c.primary   ? "primary"
                                                  : m.name == c.standby ? "standby"
                                                                        : "member"}});
    }
  }
  if (c.switchover) {
    const SwitchoverConfig& w = *c.switchover;
    j["switchover"] = {{"plan", w.plan},
                       {"pre_checks", w.pre_checks},
                       {"post_checks", w.post_checks},
                       {"healthy_within_seconds", seconds(w.healthy_within)}};
  }
  return j;
}

nlohmann::json planJson(const PlanConfig& p) {
  nlohmann::json steps = nlohmann::json::array();
  for (const StepConfig& s : p.steps) {
    steps.push_back({{"name", s.name},
                     {"action", s.action},
                     {"timeout_seconds", seconds(s.timeout)},
                     {"retries", s.retries},
                     {"on_failure", toString(s.on_failure)}});
  }
  return {{"name", p.name}, {"steps", steps}};
}

nlohmann::json channelJson(const ChannelConfig& ch) {
  nlohmann::json secrets = nlohmann::json::object();
  for (const auto& [key, value] : ch.params.all()) {
    if (const Secret* s = std::get_if<Secret>(&value)) secrets[key] = s->describe();
  }
  return {{"name", ch.name},
          {"type", ch.type},
          {"min_severity", toString(ch.min_severity)},
          {"secrets", secrets}};
}

}  // namespace

nlohmann::json summarizeJson(const Config& cfg) {
  nlohmann::json layers = nlohmann::json::object();
  for (std::size_t i = 0; i < kLayerCount; ++i) {
    const LayerTiming& t = cfg.probes.layers[i];
    layers[toString(static_cast<Layer>(i))] = {{"interval_seconds", seconds(t.interval)},
                                               {"timeout_seconds", seconds(t.timeout)}};
  }
  nlohmann::json j = {
      {"node", {{"name", cfg.node.name}, {"site", cfg.node.site}}},
      {"log_level", cfg.log_level},
      {"event_log", cfg.event_log_path},
      {"probes",
       {{"layers", layers},
        {"fall", cfg.probes.fall},
        {"rise", cfg.probes.rise},
        {"jitter", cfg.probes.jitter}}},
      {"components", nlohmann::json::array()},
      {"system",
       {{"min_failed_components", cfg.system.min_failed_components},
        {"window_seconds", seconds(cfg.system.window)},
        {"plan", cfg.system.plan.empty() ? nlohmann::json() : nlohmann::json(cfg.system.plan)}}},
      {"plans", nlohmann::json::array()},
      {"alert_channels", nlohmann::json::array()},
  };
  for (const ComponentConfig& c : cfg.components) j["components"].push_back(componentJson(c));
  for (const PlanConfig& p : cfg.plans) j["plans"].push_back(planJson(p));
  for (const ChannelConfig& ch : cfg.alerts.channels) j["alert_channels"].push_back(channelJson(ch));
  nlohmann::json coord = {{"type", cfg.coordination.type}};
  if (cfg.coordination.type == "etcd") {
    coord["endpoints"] = cfg.coordination.endpoints;
    coord["lease_ttl_seconds"] = seconds(cfg.coordination.lease_ttl);
    coord["key_prefix"] = cfg.coordination.key_prefix;
  }
  j["coordination"] = coord;
  const auto& api = cfg.control_api;
  j["control_api"] = {{"enabled", api.enabled},
                      {"listen", api.listen},
                      {"socket", api.socket},
                      {"token", secretOrigin(api.token)}};
  return j;
}

}  // namespace hftguard::config

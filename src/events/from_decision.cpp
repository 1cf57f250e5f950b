#include "hftguard/events/from_decision.hpp"

namespace hftguard::events {
namespace {

using decide::Decision;

nlohmann::json sampleJson(const decide::Sample& s) {
  nlohmann::json observed = nlohmann::json::object();
  for (const auto& o : s.observed) observed[o.name] = o.value;
  return {{"check", s.check},
          {"status", probes::toString(s.status)},
          {"latency_ms", std::chrono::duration<double, std::milli>(s.latency).count()},
          {"reason", s.reason},
          {"observed", observed},
          {"ts", formatTimestamp(s.at)}};
}

nlohmann::json gatesJson(const decide::GateState& g) {
  nlohmann::json j = {{"penalty", g.penalty}, {"damped", g.damped}, {"maintenance", g.maintenance}};
  if (g.cooldown_until) j["cooldown_until"] = formatTimestamp(*g.cooldown_until);
  if (!g.maintenance_owner.empty()) j["maintenance_owner"] = g.maintenance_owner;
  return j;
}

bool isDecisionAboutHealth(Decision::Kind k) {
  return k != Decision::Kind::MaintenanceStarted && k != Decision::Kind::MaintenanceEnded;
}

}  // namespace

Event fromDecision(const Decision& d, const std::string& node, std::string id) {
  Event e;
  e.id = std::move(id);
  e.at = d.at;
  e.node = node;
  e.component = d.component;
  e.type = std::string(decide::toString(d.kind));
  e.reason = d.reason;
  nlohmann::json& f = e.fields;
  if (!d.check.empty()) f["check"] = d.check;
  if (isDecisionAboutHealth(d.kind)) {
    f["tier"] = decide::toString(d.tier);
    if (!d.rule.empty()) f["rule"] = d.rule;
  }
  if (d.kind == Decision::Kind::StateChanged) {
    f["from"] = decide::toString(d.from);
    f["to"] = decide::toString(d.to);
  }
  if (!d.plan.empty()) f["plan"] = d.plan;
  if (!d.suppressed_by.empty()) f["suppressed_by"] = d.suppressed_by;
  if (!d.owner.empty()) f["owner"] = d.owner;
  if (d.expires) f["expires"] = formatTimestamp(*d.expires);
  if (!d.evidence.empty() || !d.thresholds.empty()) {
    nlohmann::json samples = nlohmann::json::array();
    for (const auto& s : d.evidence) samples.push_back(sampleJson(s));
    nlohmann::json thresholds = nlohmann::json::array();
    for (const auto& t : d.thresholds) {
      thresholds.push_back({{"check", t.check},
                            {"name", t.name},
                            {"observed", t.observed},
                            {"limit", t.limit},
                            {"unit", t.unit}});
    }
    f["evidence"] = {{"samples", samples}, {"thresholds", thresholds}};
  }
  if (d.breach_started) {
    f["breach_started"] = formatTimestamp(*d.breach_started);
    f["breach_from"] = d.breach_from;
  }
  if (d.kind == Decision::Kind::FailoverTriggered || d.kind == Decision::Kind::FailoverSuppressed) {
    f["gates"] = gatesJson(d.gates);
  }
  return e;
}

}  // namespace hftguard::events

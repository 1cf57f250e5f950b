#include "hftguard/coord/quorum.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace hftguard::coord {

nlohmann::json toJson(const Observation& o) {
  nlohmann::json j = {{"verdict", o.verdict}, {"primary", o.primary}, {"epoch", o.epoch}};
  if (!o.failing.empty()) j["failing"] = o.failing;
  if (o.host_check) j["host_check"] = true;
  if (o.since_ms > 0) j["since_ms"] = o.since_ms;
  return j;
}

std::map<std::string, Observation> observationsIn(const nlohmann::json& report,
                                                  const std::string& node) {
  std::map<std::string, Observation> out;
  if (!report.is_object()) return out;
  auto it = report.find("observations");
  if (it == report.end() || !it->is_object()) return out;
  for (const auto& [component, v] : it->items()) {
    if (!v.is_object()) continue;
    Observation o;
    o.node = node;
    if (auto x = v.find("verdict"); x != v.end() && x->is_string()) o.verdict = *x;
    if (o.verdict != "down" && o.verdict != "up") o.verdict = "unknown";
    if (auto x = v.find("primary"); x != v.end() && x->is_string()) o.primary = *x;
    if (auto x = v.find("epoch"); x != v.end() && x->is_number_unsigned()) o.epoch = *x;
    if (auto x = v.find("failing"); x != v.end() && x->is_array()) {
      for (const auto& f : *x) {
        if (f.is_string()) o.failing.push_back(f);
      }
    }
    if (auto x = v.find("host_check"); x != v.end() && x->is_boolean()) o.host_check = *x;
    if (auto x = v.find("since_ms"); x != v.end() && x->is_number_integer()) o.since_ms = *x;
    out[component] = std::move(o);
  }
  return out;
}

nlohmann::json QuorumVerdict::fields() const {
  return {{"reached", reached},       {"needed", needed},         {"observers", observers},
          {"down_by", down_by},       {"up_by", up_by},           {"unknown_by", unknown_by},
          {"elsewhere_by", elsewhere_by}, {"testimony", testimony}};
}

QuorumVerdict judgeQuorum(const std::vector<Observation>& observers, const std::string& primary,
                          std::uint64_t epoch, int quorum, const std::string& host_node,
                          int known) {
  QuorumVerdict v;
  v.observers = static_cast<int>(observers.size());
  const int of = std::max(v.observers, known);
  v.needed = quorum > 0 ? quorum : of > 1 ? std::max(2, of / 2 + 1) : 1;
  for (const Observation& o : observers) {
    if (o.primary != primary || (epoch != 0 && o.epoch != epoch)) {
      v.elsewhere_by.push_back(o.node);
    } else if (o.verdict == "down") {
      v.down_by.push_back(o.node);
      if (o.since_ms > 0 && (v.earliest_down_ms == 0 || o.since_ms < v.earliest_down_ms)) {
        v.earliest_down_ms = o.since_ms;
      }
      if (!host_node.empty() && o.node == host_node && o.host_check) v.testimony = o.node;
    } else if (o.verdict == "up") {
      v.up_by.push_back(o.node);
    } else {
      v.unknown_by.push_back(o.node);
    }
  }
  const int down = static_cast<int>(v.down_by.size());
  if (!v.testimony.empty()) {
    v.reached = true;
    v.reason = fmt::format("{}'s own host ({}) says it is down ({} of {} observers see it down)",
                           primary, v.testimony, down, v.observers);
    return v;
  }
  v.reached = down >= v.needed;
  const auto list = [](const std::vector<std::string>& l) {
    return l.empty() ? std::string("none") : fmt::format("{}", fmt::join(l, ", "));
  };
  if (v.reached) {
    v.reason = fmt::format("{} of {} observers see {} down (quorum {}): {}", down, v.observers,
                           primary, v.needed, list(v.down_by));
  } else if (v.needed > v.observers) {
    v.reason = fmt::format("only {} observers are live and the quorum is {} ({} known); {} see {} "
                           "down",
                           v.observers, v.needed, of, down, primary);
  } else {
    v.reason = fmt::format("{} of {} observers see {} down, {} needed (down: {}; up: {}; not "
                           "yet known: {}; another primary: {})",
                           down, v.observers, primary, v.needed, list(v.down_by), list(v.up_by),
                           list(v.unknown_by), list(v.elsewhere_by));
  }
  return v;
}

SelfFenceGate judgeSelfFence(bool self_fences, const std::string& host_node, Presence presence,
                             const std::optional<Observation>& host_view, Duration waited,
                             Duration bound, Duration self_fence_after) {
  SelfFenceGate g;
  if (!self_fences || host_node.empty()) {
    g.reason = "the primary's host does not self-fence: the plan's fence must prove it down";
    return g;
  }
  if (presence == Presence::Stopped || presence == Presence::NeverSeen) {
    g.reason = fmt::format("the daemon on its host ({}) was {}: it fenced nothing; the plan's "
                           "fence must prove it down",
                           host_node,
                           presence == Presence::Stopped ? "stopped by an operator"
                                                         : "never seen live by this daemon");
    return g;
  }
  if (presence == Presence::Gone) {
    g.evidence = fmt::format("the daemon on its host ({}) holds no lease in etcd: cut off, it "
                             "fenced itself {} after its last renewal, before that lease could "
                             "expire",
                             host_node, formatDuration(self_fence_after));
    g.reason = g.evidence;
    return g;
  }
  const std::string seen = host_view ? host_view->verdict : "nothing of it";
  if (host_view && host_view->verdict == "down") {
    g.reason = fmt::format("the daemon on its host ({}) is live and sees it down too", host_node);
    return g;
  }
  if (waited >= bound) {
    g.reason = fmt::format("the daemon on its host ({}) still holds its lease after {} (it is "
                           "not cut off from etcd) and sees it {}: the plan's fence must prove "
                           "it down",
                           host_node, formatDuration(waited), seen);
    return g;
  }
  g.wait = true;
  g.reason = fmt::format("the daemon on its host ({}) sees it {} and still holds its lease: "
                         "waiting until it has fenced itself (its lease expires) or sees it down",
                         host_node, seen);
  return g;
}

}  // namespace hftguard::coord

#include "hftguard/coord/cluster_state.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace hftguard::coord {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

void remove(std::vector<std::string>& v, const std::string& x) { std::erase(v, x); }

std::string list(const std::vector<std::string>& v) {
  return v.empty() ? "none" : fmt::format("{}", fmt::join(v, ", "));
}

std::vector<std::string> strings(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  if (!j.contains(key)) return out;
  for (const auto& s : j.at(key)) out.push_back(s.get<std::string>());
  return out;
}

}  // namespace

std::string Roles::watched() const {
  if (!standbys.empty()) return standbys.front();
  return fenced.empty() ? std::string() : fenced.front();
}

Roles initialRoles(const config::ComponentConfig& c) {
  Roles r;
  r.primary = c.primary;
  if (!c.standby.empty()) r.standbys.push_back(c.standby);
  for (const config::MemberConfig& m : c.members) {
    if (m.name != c.primary && m.name != c.standby) r.standbys.push_back(m.name);
  }
  return r;
}

std::optional<Roles> fitRoles(const config::ComponentConfig& c, Roles stored, std::string* why,
                              std::vector<std::string>* notes) {
  if (c.findMember(stored.primary) == nullptr) {
    *why = fmt::format("{}: the state's primary {} is not a configured member (members: {})",
                       c.name, stored.primary.empty() ? "(none)" : stored.primary,
                       [&] {
                         std::vector<std::string> n;
                         for (const auto& m : c.members) n.push_back(m.name);
                         return list(n);
                       }());
    return std::nullopt;
  }
  for (auto* v : {&stored.standbys, &stored.fenced}) {
    std::erase_if(*v, [&](const std::string& m) {
      const bool gone = c.findMember(m) == nullptr || m == stored.primary;
      if (gone && notes != nullptr && m != stored.primary) {
        notes->push_back(fmt::format("{}: member {} is no longer configured", c.name, m));
      }
      return gone;
    });
  }
  for (const config::MemberConfig& m : c.members) {
    if (m.name == stored.primary || contains(stored.standbys, m.name) ||
        contains(stored.fenced, m.name)) {
      continue;
    }
    stored.standbys.push_back(m.name);
    if (notes != nullptr) notes->push_back(fmt::format("{}: new member {} stands by", c.name, m.name));
  }
  return stored;
}

ClusterState fitState(const config::Config& cfg, const ClusterState& stored,
                      std::vector<std::string>* problems) {
  ClusterState out;
  for (const config::ComponentConfig& c : cfg.components) {
    if (c.members.empty()) continue;
    auto it = stored.components.find(c.name);
    if (it == stored.components.end()) {
      out.components[c.name] = initialRoles(c);
      continue;
    }
    std::string why;
    if (auto r = fitRoles(c, it->second, &why, problems)) {
      out.components[c.name] = std::move(*r);
    } else if (problems != nullptr) {
      problems->push_back(why);
    }
  }
  return out;
}

std::string applyFailover(Roles& r, const std::string& from, const std::string& to,
                          std::uint64_t from_epoch, LastFailover what) {
  if (r.epoch != from_epoch || r.primary != from) {
    return fmt::format("the roles moved meanwhile: the plan started at epoch {} with {} primary, "
                       "now epoch {} with {} primary",
                       from_epoch, from, r.epoch, r.primary);
  }
  if (!contains(r.standbys, to)) {
    return fmt::format("{} is not a ready standby (standbys: {}, fenced: {})", to,
                       list(r.standbys), list(r.fenced));
  }
  remove(r.standbys, to);
  r.primary = to;
  r.fenced.push_back(from);
  ++r.epoch;
  r.last_failover = std::move(what);
  return {};
}

std::string markReady(Roles& r, const std::string& member) {
  if (r.primary == member) return member + " is the primary";
  if (contains(r.standbys, member)) return member + " already stands by";
  if (!contains(r.fenced, member)) return member + " is not a member";
  remove(r.fenced, member);
  r.standbys.push_back(member);
  return {};
}

std::string markFenced(Roles& r, const std::string& member) {
  if (r.primary == member) {
    return member + " is the primary: fail it over (or switch over) first";
  }
  if (contains(r.fenced, member)) return member + " is already fenced";
  if (!contains(r.standbys, member)) return member + " is not a member";
  remove(r.standbys, member);
  r.fenced.push_back(member);
  return {};
}

nlohmann::json toJson(const Roles& r) {
  nlohmann::json j = {{"primary", r.primary},
                      {"standbys", r.standbys},
                      {"fenced", r.fenced},
                      {"epoch", r.epoch}};
  if (r.last_failover) {
    const auto& l = *r.last_failover;
    j["last_failover"] = {{"from", l.from}, {"to", l.to}, {"at", l.at}, {"event", l.event}};
  }
  return j;
}

nlohmann::json toJson(const ClusterState& s) {
  nlohmann::json c = nlohmann::json::object();
  for (const auto& [name, r] : s.components) c[name] = toJson(r);
  return {{"version", 1}, {"components", c}};
}

std::optional<ClusterState> stateFromJson(const nlohmann::json& j, std::string* why) {
  try {
    if (j.value("version", 0) != 1) {
      *why = fmt::format("state version {} is not one this hftguard reads (1)",
                         j.contains("version") ? j.at("version").dump() : "(none)");
      return std::nullopt;
    }
    ClusterState s;
    for (const auto& [name, c] : j.at("components").items()) {
      Roles r;
      r.primary = c.at("primary").get<std::string>();
      r.standbys = strings(c, "standbys");
      r.fenced = strings(c, "fenced");
      r.epoch = c.at("epoch").get<std::uint64_t>();
      if (c.contains("last_failover")) {
        const auto& l = c.at("last_failover");
        r.last_failover = LastFailover{l.value("from", ""), l.value("to", ""), l.value("at", ""),
                                       l.value("event", "")};
      }
      s.components[name] = std::move(r);
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    *why = std::string("not a cluster state: ") + e.what();
    return std::nullopt;
  }
}

}  // namespace hftguard::coord

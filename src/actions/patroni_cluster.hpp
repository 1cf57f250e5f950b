#pragma once
// Patroni's /cluster answer as the patroni action reads it: the members, their roles, states
// and lag, and whether the cluster is paused. Its own file so the parser is fuzzed alone
// (fuzz/).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace hftguard::actions::kinds {

struct Member {
  std::string name;
  std::string role;   // leader, standby_leader, replica, sync_standby
  std::string state;  // running, streaming, starting, stopped, ...
  std::string api;    // base URL of its REST API
  std::string host;
  std::int64_t port = 0;
  std::optional<std::int64_t> lag;  // bytes; absent when Patroni says "unknown"
  bool nofailover = false;

  bool isLeader() const { return role == "leader" || role == "standby_leader"; }
  bool isRunning() const { return state == "running" || state == "streaming"; }
  std::string address() const { return fmt::format("{}:{}", host, port); }
  std::string summary() const {
    return fmt::format("{} is {}, {}{}", name, role, state,
                       lag ? fmt::format(", lag {} bytes", *lag) : "");
  }
};

struct Cluster {
  bool paused = false;
  std::vector<Member> members;

  const Member* find(const std::string& name) const {
    for (const auto& m : members)
      if (m.name == name) return &m;
    return nullptr;
  }
  const Member* leader() const {
    for (const auto& m : members)
      if (m.isLeader()) return &m;
    return nullptr;
  }
  std::string summary() const {
    std::string out;
    for (const auto& m : members) out += (out.empty() ? "" : "; ") + m.summary();
    return out.empty() ? "no members" : out;
  }
};

// "http://h:p/patroni" -> "http://h:p": the members' api_url names an endpoint, not a base.
std::string apiBase(std::string url);

// The cluster; nullopt with why when the body is not Patroni's /cluster. A member field of
// the wrong type ("name": 5) is a malformed answer, never an exception.
std::optional<Cluster> parseCluster(const std::string& body, std::string& why);

}  // namespace hftguard::actions::kinds

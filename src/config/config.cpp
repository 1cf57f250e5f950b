#include "hftguard/config/config.hpp"

#include <algorithm>

namespace hftguard::config {
namespace {

template <typename T>
const T* findByName(const std::vector<T>& items, std::string_view name) {
  auto it = std::find_if(items.begin(), items.end(), [&](const T& i) { return i.name == name; });
  return it == items.end() ? nullptr : &*it;
}

}  // namespace

std::string_view toString(Layer v) {
  static constexpr std::string_view names[] = {"process", "service", "business", "end_to_end"};
  return names[static_cast<int>(v)];
}
std::string_view toString(Tier v) {
  static constexpr std::string_view names[] = {"hot", "warm", "cold"};
  return names[static_cast<int>(v)];
}
std::string_view toString(Automation v) {
  static constexpr std::string_view names[] = {"full", "semi", "manual"};
  return names[static_cast<int>(v)];
}
std::string_view toString(Severity v) {
  static constexpr std::string_view names[] = {"info", "warning", "critical"};
  return names[static_cast<int>(v)];
}
std::string_view toString(OnFailure v) {
  static constexpr std::string_view names[] = {"abort", "continue"};
  return names[static_cast<int>(v)];
}

const CheckConfig* ComponentConfig::findCheck(std::string_view n) const {
  return findByName(checks, n);
}
const MemberConfig* ComponentConfig::findMember(std::string_view n) const {
  return findByName(members, n);
}

std::vector<const CheckConfig*> ComponentConfig::checksFor(std::string_view p,
                                                           std::string_view s) const {
  std::vector<const CheckConfig*> out;
  if (members.empty()) {
    for (const CheckConfig& c : checks) out.push_back(&c);
    return out;
  }
  auto pi = role_checks.find(p);
  auto si = role_checks.find(s);
  const std::size_t primaries = role_checks.begin()->second.as_primary.size();
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (i < primaries) {
      out.push_back(pi == role_checks.end() ? nullptr : &pi->second.as_primary[i]);
    } else {
      out.push_back(si == role_checks.end() ? nullptr : &si->second.as_standby[i - primaries]);
    }
  }
  return out;
}

Duration leaseMargin(Duration ttl) {
  return std::max<Duration>(std::chrono::milliseconds(500), ttl / 10);
}

Duration leaseRequestTimeout(Duration ttl) {
  return std::min<Duration>(std::chrono::seconds(1), ttl / 3);
}

// The next renewal is sent ttl/3 after the last one's answer, which may take a request
// timeout to come: just before it, the lease is 2/3 ttl - request timeout - margin ahead.
Duration minSelfFenceAfter(Duration ttl) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(ttl / 3 +
                                                               2 * leaseRequestTimeout(ttl));
}

Duration defaultSelfFenceAfter(Duration ttl) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      std::max<Duration>(ttl / 2, minSelfFenceAfter(ttl) + std::chrono::milliseconds(500)));
}

Duration planBudget(const PlanConfig& plan) {
  Duration total{};
  for (const auto& s : plan.steps) {
    total += s.timeout * (s.retries + 1);
    for (int k = 0; k < s.retries; ++k) total += s.backoff * (1LL << std::min(k, 20));  // doubling
  }
  return total;
}

Duration leaseWindow(Duration ttl) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(ttl * 2 / 3 - leaseMargin(ttl) -
                                                               leaseRequestTimeout(ttl));
}

const ComponentConfig* Config::findComponent(std::string_view n) const {
  return findByName(components, n);
}
const PlanConfig* Config::findPlan(std::string_view n) const { return findByName(plans, n); }
const ChannelConfig* Config::findChannel(std::string_view n) const {
  return findByName(alerts.channels, n);
}

const DrillScenario* Config::findScenario(std::string_view n) const {
  return findByName(drill, n);
}

}  // namespace hftguard::config

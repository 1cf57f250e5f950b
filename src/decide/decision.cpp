#include "hftguard/decide/decision.hpp"

namespace hftguard::decide {

std::string_view toString(Tier t) {
  static constexpr std::string_view names[] = {"transient", "component", "system"};
  return names[static_cast<int>(t)];
}

std::string_view toString(Health h) {
  static constexpr std::string_view names[] = {"unknown", "healthy", "suspect", "failed",
                                               "recovering"};
  return names[static_cast<int>(h)];
}

std::string_view toString(Transition t) {
  static constexpr std::string_view names[] = {"unchanged", "pending", "changed"};
  return names[static_cast<int>(t)];
}

std::string_view toString(Decision::Kind k) {
  static constexpr std::string_view names[] = {"check_failed",        "state_changed",
                                               "failover_triggered",  "failover_suppressed",
                                               "maintenance_started", "maintenance_ended"};
  return names[static_cast<int>(k)];
}

}  // namespace hftguard::decide

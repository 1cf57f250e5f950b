#include "hftguard/probes/result.hpp"

namespace hftguard::probes {

std::string_view toString(ProbeStatus s) {
  static constexpr std::string_view names[] = {"ok", "failed", "timeout", "error"};
  return names[static_cast<int>(s)];
}

std::optional<double> ProbeResult::value(std::string_view name) const {
  for (const Observation& o : observed) {
    if (o.name == name) return o.value;
  }
  return std::nullopt;
}

}  // namespace hftguard::probes

// Patroni's /cluster body -> the patroni action's parseCluster and what it derives from it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "actions/patroni_cluster.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  std::string why;
  if (auto c = hftguard::actions::kinds::parseCluster(body, why)) {
    (void)c->summary();
    for (const auto& m : c->members) (void)c->find(m.name);
  }
  return 0;
}

// Probe kinds by the config's type name. Listed explicitly (no static self-registration)
// so the linker cannot drop a kind from the static library.
#include <map>
#include <string_view>

#include "kinds.hpp"

namespace hftguard::probes {

using Factory = std::unique_ptr<Probe> (*)(const config::CheckConfig&, ProbeEnv&);

std::unique_ptr<Probe> makeProbe(const config::CheckConfig& check, ProbeEnv& env) {
  static const std::map<std::string_view, Factory> factories = {
      {"process", kinds::makeProcess}, {"tcp", kinds::makeTcp},
      {"http", kinds::makeHttp},       {"e2e_order", kinds::makeE2eOrder},
      {"host", kinds::makeHost},       {"postgres", kinds::makePostgres},
      {"redis", kinds::makeRedis},     {"redis_key", kinds::makeRedisKey},
  };
  auto it = factories.find(check.type);
  return it == factories.end() ? nullptr : it->second(check, env);
}

}  // namespace hftguard::probes

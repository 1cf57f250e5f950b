// Action kinds by the config's name, listed explicitly so none is dropped by the linker.
#include <map>
#include <string_view>

#include "hftguard/actions/test_hooks.hpp"

#include "kinds.hpp"

namespace hftguard::actions {

namespace {

using Factory = std::unique_ptr<Action> (*)(const config::StepConfig&, const PlanContext&,
                                            ActionEnv&);

const std::map<std::string_view, Factory>& factories() {
  static const std::map<std::string_view, Factory> all = {
      {"http_check", kinds::makeHttpCheck},
      {"http_request", kinds::makeHttpRequest},
      {"e2e_order", kinds::makeE2eOrder},
      {"redis_set", kinds::makeRedisSet},
      {"exec", kinds::makeExec},
      {"haproxy", kinds::makeHaproxy},
      {"kv_put", kinds::makeKvPut},
      {"kv_delete", kinds::makeKvDelete},
      {"fence", kinds::makeFence},
      {"pg_promote", kinds::makePgPromote},
      {"pg_final_sync", kinds::makePgFinalSync},
      {"patroni", kinds::makePatroni},
      {"dns", kinds::makeDns},
      {"redis_sentinel", kinds::makeRedisSentinel},
  };
  return all;
}

std::map<std::string, test_hooks::Factory, std::less<>>& fakes() {
  static std::map<std::string, test_hooks::Factory, std::less<>> all;
  return all;
}

}  // namespace

void test_hooks::replaceFactory(const std::string& kind, Factory factory) {
  if (factory) {
    fakes()[kind] = std::move(factory);
  } else {
    fakes().erase(kind);
  }
}

std::unique_ptr<Action> makeAction(const config::StepConfig& step, const PlanContext& ctx,
                                   ActionEnv& env) {
  if (auto fake = fakes().find(step.action); fake != fakes().end())
    return fake->second(step, ctx, env);
  auto it = factories().find(step.action);
  return it == factories().end() ? nullptr : it->second(step, ctx, env);
}

bool runnable(std::string_view kind) { return factories().count(kind) != 0; }

}  // namespace hftguard::actions

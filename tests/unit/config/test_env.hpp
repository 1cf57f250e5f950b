#pragma once
// The environment the config tests load with: only HFTGUARD_TEST_TOKEN is set.

#include "hftguard/config/loader.hpp"

namespace hftguard::testing {

inline config::LoadOptions testEnv() {
  config::LoadOptions o;
  o.env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "HFTGUARD_TEST_TOKEN") return "token-from-env";
    return std::nullopt;
  };
  return o;
}

}  // namespace hftguard::testing

#pragma once
// Private to the loader: a component's members and the placeholders that address them.
// Checks address a member in a role ({primary.host}, {standby.api}): they are read once per
// member, with the member's values filled in before the value is parsed, so a port or a URL
// is validated as it will be used. Plans address the members of the failover in flight
// ({old_primary.api}, {new_primary.host}), filled when the plan runs.

#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "hftguard/config/config.hpp"

#include "yaml_reader.hpp"

namespace hftguard::config::detail {

// Reads `members:` (name -> map of scalar values, `host` required); reports what is wrong.
std::vector<MemberConfig> readMembers(ReaderContext& ctx, const YAML::Node& node,
                                      const std::string& where);

// `text` with each {role.key} filled from `member`; a key the member lacks, or the other
// role's placeholder, is reported at `at` (checks address the primary; standby checks the
// standby).
std::string fillRole(ReaderContext& ctx, const YAML::Mark& at, std::string_view key,
                     const std::string& text, std::string_view role, const MemberConfig& member);

// Each {old_primary.K} / {new_primary.K} in a plan's step values: the key and the step
// ({epoch}: the key "epoch").
struct MemberKeyUse {
  std::string key;
  const StepConfig* step;
};
std::vector<MemberKeyUse> memberKeysUsed(const PlanConfig& plan);

}  // namespace hftguard::config::detail

#pragma once
// Private to the loader: the settings that keep a network partition from making two
// primaries (docs/safety.md). A self-fence must end before its daemon's lease can have
// expired - the moment the majority's leader may promote - and it must know which daemon
// hosts which member.

#include "hftguard/config/config.hpp"

#include "yaml_reader.hpp"

namespace hftguard::config::detail {

void checkPartitionRules(ReaderContext& ctx, const Config& cfg);

}  // namespace hftguard::config::detail

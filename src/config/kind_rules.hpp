#pragma once
// Private to the loader: the rules of a kind that a KeySpec cannot say alone ("exactly one
// of executable, cmdline, pidfile"). Each reports its errors and returns nothing.

#include <string>

#include "yaml_reader.hpp"

namespace hftguard::config::detail {

void checkKindRules(ReaderContext& ctx, std::string_view family, std::string_view type,
                    const SectionValues& values, const std::string& where);

// True when `listen` is "unix:/path" or a loopback host:port.
bool isLocalListenAddress(const std::string& listen);

}  // namespace hftguard::config::detail

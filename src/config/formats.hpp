#pragma once
// Private to the loader: what a string value with a Format must look like. Each function
// returns why `text` is not of its form ("'a b' is not a host name or address"), or an
// empty string when it is.

#include <string>
#include <string_view>
#include <vector>

#include "hftguard/config/schema.hpp"

namespace hftguard::config::detail {

std::string formatError(Format format, std::string_view text);

// scheme://host[:port][/...] with a scheme from `schemes`, no whitespace.
std::string urlError(std::string_view text, const std::vector<std::string_view>& schemes);

// `text` with each {name} replaced by a plain name, so a templated value can be checked
// for its form before the plan fills it in.
std::string fillPlaceholdersForCheck(std::string_view text);

bool isHostPort(std::string_view text);

}  // namespace hftguard::config::detail

#pragma once
// "Did you mean ...?" for misspelt keys, names and subcommands.

#include <optional>
#include <string_view>
#include <vector>

namespace hftguard {

std::size_t editDistance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be a likely typo.
std::optional<std::string_view> closestMatch(std::string_view word,
                                             const std::vector<std::string_view>& candidates);

}  // namespace hftguard

#pragma once
// Base64 (RFC 4648, standard alphabet, padded): etcd's JSON gateway and Consul carry keys
// and values this way.

#include <optional>
#include <string>
#include <string_view>

namespace hftguard {

std::string base64Encode(std::string_view in);
// Nullopt on a character outside the alphabet.
std::optional<std::string> base64Decode(std::string_view in);

}  // namespace hftguard

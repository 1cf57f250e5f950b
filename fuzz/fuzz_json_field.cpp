// An HTTP body and a json_field pointer -> the http probe's JSON field match.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "probes/json_field.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Input: POINTER '\n' BODY; the pointer as an operator may write it (any text).
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto nl = input.find('\n');
  const std::string field = nl == std::string::npos ? "/status" : input.substr(0, nl);
  const std::string body = nl == std::string::npos ? input : input.substr(nl + 1);
  (void)hftguard::probes::kinds::jsonFieldMismatch(body, field, std::string("ok"), "http://t");
  return 0;
}

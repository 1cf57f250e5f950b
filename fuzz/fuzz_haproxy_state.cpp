// HAProxy's answer to `show servers state BACKEND` -> the haproxy action's parseState.
#include <cstddef>
#include <cstdint>
#include <string>

#include "actions/haproxy_state.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string answer(reinterpret_cast<const char*>(data), size);
  (void)hftguard::actions::kinds::parseState(answer, "primary");
  return 0;
}

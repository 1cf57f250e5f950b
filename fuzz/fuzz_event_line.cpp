// One line of failover_events.json -> parseEventLine (hftguard events / explain / drill).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "hftguard/events/event.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  std::string why;
  if (auto e = hftguard::events::parseEventLine(line, &why)) {
    (void)hftguard::events::toJsonLine(*e);  // what was read can be written back
  }
  (void)hftguard::events::parseTimestamp(line);
  return 0;
}

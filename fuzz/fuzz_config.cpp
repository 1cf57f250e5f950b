// YAML text -> the config loader: every error is a value, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "hftguard/config/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // KEY_file names a file to read: /dev/zero would be a fuzzer's endless read, not a bug.
  if (text.find("_file") != std::string_view::npos) return 0;
  hftguard::config::LoadOptions options;
  options.env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "SET") return "value";
    return std::nullopt;
  };
  auto result = hftguard::config::loadConfigString(text, "/nonexistent/fuzz.yaml", options);
  for (const auto& e : result.errors) (void)e.format();
  return 0;
}

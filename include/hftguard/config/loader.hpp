#pragma once
// YAML -> validated Config. Every problem in a file is reported at once, each as
// "file:line:col: message"; a Config is returned only when there are none.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hftguard/config/config.hpp"

namespace hftguard::config {

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string message;

  std::string format() const;  // "file:line:col: message"
};

struct LoadResult {
  std::shared_ptr<const Config> config;  // null when errors is not empty
  std::vector<ConfigError> errors;       // sorted by position

  bool ok() const { return config != nullptr; }
};

// Looks up ${NAME} references in secret keys. The default reads the process environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

struct LoadOptions {
  EnvLookup env;  // empty: getenv
};

// Relative *_file paths are resolved against the config file's directory.
LoadResult loadConfigFile(const std::string& path, const LoadOptions& options = {});

// `path` is used for messages and to resolve relative *_file paths.
LoadResult loadConfigString(std::string_view yaml, const std::string& path,
                            const LoadOptions& options = {});

}  // namespace hftguard::config

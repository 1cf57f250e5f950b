#pragma once
// Type-specific parameters of a check, an action step or an alert channel, already
// validated against their schema (schema.hpp) and with defaults filled in. Accessors
// throw std::logic_error on a key the schema does not give that kind: a programming error,
// never a config error.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "hftguard/config/secret.hpp"
#include "hftguard/core/duration.hpp"

namespace hftguard::config {

using StringMap = std::map<std::string, std::string, std::less<>>;
using ParamValue = std::variant<bool, std::int64_t, double, std::string, Duration,
                                std::vector<std::string>, StringMap, Secret>;

class Params {
 public:
  void set(std::string key, ParamValue value);
  bool has(std::string_view key) const;

  const std::string& str(std::string_view key) const { return get<std::string>(key); }
  std::int64_t integer(std::string_view key) const { return get<std::int64_t>(key); }
  double number(std::string_view key) const { return get<double>(key); }
  bool flag(std::string_view key) const { return get<bool>(key); }
  Duration duration(std::string_view key) const { return get<Duration>(key); }
  const std::vector<std::string>& list(std::string_view key) const {
    return get<std::vector<std::string>>(key);
  }
  const StringMap& map(std::string_view key) const { return get<StringMap>(key); }
  const Secret& secret(std::string_view key) const { return get<Secret>(key); }

  const std::map<std::string, ParamValue, std::less<>>& all() const { return values_; }
  bool operator==(const Params&) const = default;

 private:
  template <typename T>
  const T& get(std::string_view key) const;

  std::map<std::string, ParamValue, std::less<>> values_;
};

}  // namespace hftguard::config

#include "hftguard/config/params.hpp"

#include <stdexcept>

namespace hftguard::config {

void Params::set(std::string key, ParamValue value) {
  values_.insert_or_assign(std::move(key), std::move(value));
}

bool Params::has(std::string_view key) const { return values_.find(key) != values_.end(); }

template <typename T>
const T& Params::get(std::string_view key) const {
  auto it = values_.find(key);
  if (it == values_.end()) {
    throw std::logic_error("config parameter '" + std::string(key) + "' is not set");
  }
  const T* value = std::get_if<T>(&it->second);
  if (value == nullptr) {
    throw std::logic_error("config parameter '" + std::string(key) + "' has another type");
  }
  return *value;
}

template const bool& Params::get<bool>(std::string_view) const;
template const std::int64_t& Params::get<std::int64_t>(std::string_view) const;
template const double& Params::get<double>(std::string_view) const;
template const std::string& Params::get<std::string>(std::string_view) const;
template const Duration& Params::get<Duration>(std::string_view) const;
template const std::vector<std::string>& Params::get<std::vector<std::string>>(
    std::string_view) const;
template const StringMap& Params::get<StringMap>(std::string_view) const;
template const Secret& Params::get<Secret>(std::string_view) const;

}  // namespace hftguard::config

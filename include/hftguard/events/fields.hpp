#pragma once
// An event's fields (or a document a daemon answered) read without trusting their types:
// a field is whatever its writer put there, so a flag that holds text is false, not an
// exception on the loop.

#include <string>

#include <nlohmann/json.hpp>

namespace hftguard::events {

inline bool flagField(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return false;
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

inline std::string textField(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

inline double numberField(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0;
}

}  // namespace hftguard::events

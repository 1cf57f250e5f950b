#include "json_field.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace hftguard::probes::kinds {

std::optional<nlohmann::json> parseJson(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::string jsonText(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::optional<ProbeOutcome> jsonFieldMismatch(const std::string& body, const std::string& field,
                                              const std::optional<std::string>& equals,
                                              const std::string& url) {
  auto doc = parseJson(body);
  if (!doc) return ProbeOutcome::failed(fmt::format("malformed JSON body from {}", url));
  nlohmann::json::json_pointer pointer;
  try {
    pointer = nlohmann::json::json_pointer(field);
  } catch (const nlohmann::json::exception&) {
    return ProbeOutcome::error(fmt::format("json_field '{}' is not a JSON pointer", field));
  }
  // contains() and at() disagree on some pointers into arrays ("/list/" or "/list/+1"):
  // whatever the library makes of it, a value it cannot resolve is a missing field.
  std::string value;
  try {
    if (!doc->contains(pointer)) throw std::out_of_range("missing");
    value = jsonText(doc->at(pointer));
  } catch (const std::exception&) {
    return ProbeOutcome::failed(fmt::format("{} missing from the body of {}", field, url));
  }
  if (equals && value != *equals) {
    return ProbeOutcome::failed(
        fmt::format("{} is '{}', expected '{}' ({})", field, value, *equals, url));
  }
  return std::nullopt;
}

}  // namespace hftguard::probes::kinds

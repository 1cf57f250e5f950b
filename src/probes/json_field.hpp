#pragma once
// Private: reading a target's JSON answer - the body parsed, a value as text, and the http
// probe's json_field / json_equals match. Pure and free of the event loop, so fuzzed alone
// (fuzz/fuzz_json_field.cpp).

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "hftguard/probes/result.hpp"

namespace hftguard::probes::kinds {

// The body as JSON, or nullopt (malformed bodies are a failed probe, never a crash).
std::optional<nlohmann::json> parseJson(const std::string& body);

std::string jsonText(const nlohmann::json& v);  // strings unquoted, everything else dumped

// json_field (a JSON pointer) must be in the body and, with json_equals, have that value:
// nullopt when it holds, else the outcome.
std::optional<ProbeOutcome> jsonFieldMismatch(const std::string& body, const std::string& field,
                                              const std::optional<std::string>& equals,
                                              const std::string& url);

}  // namespace hftguard::probes::kinds

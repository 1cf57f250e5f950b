#pragma once
// Placeholders filled for where the text goes. A value ({reason} carries a libpq error, with
// quotes, backslashes and newlines) is data, never syntax: it is escaped for its destination
// while the step's own text around it is kept as written.

#include <string>
#include <string_view>

#include "hftguard/actions/action.hpp"

namespace hftguard::actions {

// Each value JSON-string-escaped (no quotes added): for a placeholder inside a JSON string,
// `"text": "{reason}"`. Invalid UTF-8 becomes U+FFFD, so the body stays valid JSON.
std::string fillJson(std::string_view text, const PlanContext& ctx);
// Each value percent-encoded (RFC 3986 unreserved characters kept; '/' encoded too): for a
// URL's path or query.
std::string fillUrl(std::string_view text, const PlanContext& ctx);
// The whole filled text form-encoded (application/x-www-form-urlencoded: ' ' is '+'): a
// form field's name or value is data through and through.
std::string fillForm(std::string_view text, const PlanContext& ctx);

std::string jsonEscaped(std::string_view value);
std::string percentEncoded(std::string_view value);
std::string formEncoded(std::string_view value);

}  // namespace hftguard::actions

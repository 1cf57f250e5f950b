#include "hftguard/actions/template.hpp"

#include <functional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hftguard/actions/action.hpp"

namespace hftguard::actions {
namespace {

using Escape = std::function<std::string(std::string_view)>;

std::string fillWith(std::string_view text, const PlanContext& ctx, const Escape& escape) {
  const std::pair<std::string_view, const std::string*> values[] = {
      {"component", &ctx.component},
      {"node", &ctx.node},
      {"old_primary", &ctx.old_primary},
      {"new_primary", &ctx.new_primary},
      {"fencing_token", &ctx.fencing_token},
      {"timestamp", &ctx.timestamp},
      {"reason", &ctx.reason}};
  const std::string epoch = ctx.epoch == 0 ? std::string() : std::to_string(ctx.epoch);
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    bool replaced = false;
    // {epoch} and {old_primary.api}: the roles' values, when the roles are tracked.
    if (text[i] == '{' && (ctx.epoch != 0 || !ctx.members.empty())) {
      const std::size_t close = text.find('}', i);
      const std::string name(text.substr(i + 1, close == std::string_view::npos ? 0 : close - i - 1));
      const std::string* value = name == "epoch" && ctx.epoch != 0 ? &epoch : nullptr;
      if (auto it = ctx.members.find(name); it != ctx.members.end()) value = &it->second;
      if (value != nullptr) {
        out += escape ? escape(*value) : *value;
        i = close + 1;
        continue;
      }
    }
    if (text[i] == '{') {
      for (const auto& [name, value] : values) {
        if (text.substr(i + 1, name.size()) == name && i + 1 + name.size() < text.size() &&
            text[i + 1 + name.size()] == '}') {
          out += escape ? escape(*value) : *value;
          i += name.size() + 2;
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

bool unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

}  // namespace

std::string fill(std::string_view text, const PlanContext& ctx) {
  return fillWith(text, ctx, nullptr);
}

std::string fillJson(std::string_view text, const PlanContext& ctx) {
  return fillWith(text, ctx, jsonEscaped);
}

// The authority (`http://{new_primary}/...`: a host:port a step found out) is filled as it
// is, but only with characters a host:port may hold; the path and query are percent-encoded.
std::string fillUrl(std::string_view text, const PlanContext& ctx) {
  const std::size_t scheme = text.find("://");
  std::size_t end = 0;
  if (scheme != std::string_view::npos) {
    end = text.find_first_of("/?#", scheme + 3);
    if (end == std::string_view::npos) end = text.size();
  }
  auto hostPort = [](std::string_view v) {
    for (unsigned char c : v) {
      if (!unreserved(c) && c != ':' && c != '[' && c != ']') return percentEncoded(v);
    }
    return std::string(v);
  };
  return fillWith(text.substr(0, end), ctx, hostPort) +
         fillWith(text.substr(end), ctx, percentEncoded);
}

std::string fillForm(std::string_view text, const PlanContext& ctx) {
  return formEncoded(fill(text, ctx));
}

std::string jsonEscaped(std::string_view value) {
  const std::string quoted = nlohmann::json(std::string(value))
                                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return quoted.substr(1, quoted.size() - 2);
}

std::string percentEncoded(std::string_view value) {
  std::string out;
  for (unsigned char c : value) {
    out += unreserved(c) ? std::string(1, static_cast<char>(c)) : fmt::format("%{:02X}", c);
  }
  return out;
}

std::string formEncoded(std::string_view value) {
  std::string out;
  for (unsigned char c : value) {
    if (c == ' ') {
      out += '+';
    } else {
      out += unreserved(c) ? std::string(1, static_cast<char>(c)) : fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace hftguard::actions

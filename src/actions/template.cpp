
#include "hftguard/actions/action.hpp"

namespace hftguard::actions {

std::string fill(std::string_view text, const PlanContext& ctx) {
  const std::pair<std::string_view, const std::string*> values[] = {
      {"component", &ctx.component},
      {"node", &ctx.node},
      {"old_primary", &ctx.old_primary},
      {"new_primary", &ctx.new_primary},
      {"fencing_token", &ctx.fencing_token},
      {"timestamp", &ctx.timestamp},
      {"reason", &ctx.reason}};
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    bool replaced = false;
    if (text[i] == '{') {
      for (const auto& [name, value] : values) {
        if (text.substr(i + 1, name.size()) == name && i + 1 + name.size() < text.size() &&
            text[i + 1 + name.size()] == '}') {
          out += *value;
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

}  // namespace hftguard::actions

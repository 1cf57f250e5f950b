#include "members.hpp"

#include <regex>
#include <set>

#include <fmt/format.h>

#include "hftguard/core/suggest.hpp"

namespace hftguard::config::detail {
namespace {

const std::regex& rolePattern() {
  static const std::regex p(R"(\{(primary|standby)\.([A-Za-z0-9_]+)\})");
  return p;
}

std::string knownKeys(const MemberConfig& m) {
  std::string out;
  for (const auto& [k, v] : m.values) out += (out.empty() ? "" : ", ") + k;
  return out;
}

void scan(const std::string& text, const StepConfig& step, std::set<std::string>& seen,
          std::vector<MemberKeyUse>& out) {
  static const std::regex p(R"(\{(?:(?:old|new)_primary\.([A-Za-z0-9_]+)|(epoch))\})");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), p); it != std::sregex_iterator();
       ++it) {
    const std::string key = (*it)[1].matched ? (*it)[1].str() : "epoch";
    if (seen.insert(key).second) out.push_back({key, &step});
  }
}

}  // namespace

std::vector<MemberConfig> readMembers(ReaderContext& ctx, const YAML::Node& node,
                                      const std::string& where) {
  std::vector<MemberConfig> out;
  static const std::regex keyName("[a-z_][a-z0-9_]*");
  forEachNamed(ctx, node, where, [&](const std::string& name, const YAML::Mark& mark,
                                     const YAML::Node& values) {
    MemberConfig m;
    m.name = name;
    m.where = {mark.line + 1, mark.column + 1};
    m.values["name"] = name;
    if (!values.IsMap()) {
      ctx.diag.error(values.IsNull() ? mark : values.Mark(),
                     fmt::format("{}.{}: expected a map with at least `host`, got {}", where, name,
                                 describe(values)));
      out.push_back(std::move(m));
      return;
    }
    for (auto it = values.begin(); it != values.end(); ++it) {
      const std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
      if (!std::regex_match(key, keyName) || key == "name") {
        ctx.diag.error(it->first.Mark(),
                       fmt::format("{}.{}: '{}' is not a member key ([a-z_][a-z0-9_]*, not name)",
                                   where, name, key));
        continue;
      }
      if (!it->second.IsScalar() || it->second.Scalar().empty()) {
        ctx.diag.error(it->second.Mark(), fmt::format("{}.{}.{}: expected a value, got {}", where,
                                                      name, key, describe(it->second)));
        continue;
      }
      m.values[key] = it->second.Scalar();
    }
    if (!m.values.count("host")) {
      ctx.diag.error(mark, fmt::format("{}.{}: missing required key 'host'", where, name));
      m.values["host"] = "";
    }
    out.push_back(std::move(m));
  });
  return out;
}

std::string fillRole(ReaderContext& ctx, const YAML::Mark& at, std::string_view key,
                     const std::string& text, std::string_view role, const MemberConfig& member) {
  std::string out;
  std::size_t from = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), rolePattern());
       it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    out.append(text, from, static_cast<std::size_t>(m.position()) - from);
    from = static_cast<std::size_t>(m.position() + m.length());
    if (m[1].str() != role) {
      ctx.diag.error(at, fmt::format("{}: {} - {} address the {}: use {{{}.{}}}", key, m.str(),
                                     role == "primary" ? "checks" : "standby_checks", role, role,
                                     m[2].str()));
      continue;
    }
    auto v = member.values.find(m[2].str());
    if (v == member.values.end()) {
      ctx.diag.error(at, fmt::format("{}: member {} has no '{}' (it has {})", key, member.name,
                                     m[2].str(), knownKeys(member)));
      continue;
    }
    out += v->second;
  }
  out.append(text, from);
  return out;
}

std::vector<MemberKeyUse> memberKeysUsed(const PlanConfig& plan) {
  std::vector<MemberKeyUse> out;
  std::set<std::string> seen;
  for (const StepConfig& s : plan.steps) {
    for (const auto& [k, v] : s.params.all()) {
      if (auto* text = std::get_if<std::string>(&v)) scan(*text, s, seen, out);
      if (auto* list = std::get_if<std::vector<std::string>>(&v)) {
        for (const auto& t : *list) scan(t, s, seen, out);
      }
      if (auto* map = std::get_if<StringMap>(&v)) {
        for (const auto& [mk, t] : *map) scan(t, s, seen, out);
      }
    }
  }
  return out;
}

}  // namespace hftguard::config::detail

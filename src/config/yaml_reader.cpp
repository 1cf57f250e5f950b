#include "yaml_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "hftguard/core/suggest.hpp"

#include "formats.hpp"

namespace hftguard::config::detail {
namespace {

// A parsed value, or the reason it could not be parsed (without the "key: " prefix).
struct Parsed {
  std::optional<ParamValue> value;
  std::string error;
};

Parsed fail(std::string message) { return {std::nullopt, std::move(message)}; }

std::string joinChoices(const std::vector<std::string_view>& choices, std::string_view sep) {
  std::string out;
  for (std::string_view c : choices) {
    if (!out.empty()) out += sep;
    out += c;
  }
  return out;
}

std::optional<double> parseNumber(std::string_view text) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || ptr != text.data() + text.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

std::optional<std::int64_t> parseInteger(std::string_view text) {
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

// Checks min_text..max_text, read with the same parser as the value itself.
template <typename T, typename ParseFn>
std::string rangeError(const KeySpec& spec, T value, std::string_view text, ParseFn parse) {
  if (spec.min_text.empty() && spec.max_text.empty()) return {};
  const auto lo = spec.min_text.empty() ? std::nullopt : parse(spec.min_text);
  const auto hi = spec.max_text.empty() ? std::nullopt : parse(spec.max_text);
  if ((lo && value < *lo) || (hi && value > *hi)) {
    return fmt::format("{} is out of range {}..{}", text, spec.min_text, spec.max_text);
  }
  return {};
}

// A templated value is checked with its {placeholders} standing for a plain name.
std::string formOf(const KeySpec& spec, const std::string& text) {
  return spec.templated ? fillPlaceholdersForCheck(text) : text;
}

Parsed parseScalar(const KeySpec& spec, const std::string& text) {
  switch (spec.kind) {
    case ValueKind::String: {
      if (auto e = formatError(spec.format, formOf(spec, text)); !e.empty()) return fail(e);
      return {ParamValue{text}, {}};
    }
    case ValueKind::Url: {
      if (auto e = urlError(formOf(spec, text), spec.choices); !e.empty()) return fail(e);
      return {ParamValue{text}, {}};
    }
    case ValueKind::Enum: {
      if (std::find(spec.choices.begin(), spec.choices.end(), text) != spec.choices.end()) {
        return {ParamValue{text}, {}};
      }
      std::string msg = fmt::format("'{}' is not one of {}", text, joinChoices(spec.choices, ", "));
      if (auto near = closestMatch(text, spec.choices))
        msg += fmt::format("; did you mean '{}'?", *near);
      return fail(msg);
    }
    case ValueKind::Bool:
      if (text == "true") return {ParamValue{true}, {}};
      if (text == "false") return {ParamValue{false}, {}};
      return fail(fmt::format("expected true or false, got '{}'", text));
    case ValueKind::Integer: {
      auto v = parseInteger(text);
      if (!v) return fail(fmt::format("expected an integer, got '{}'", text));
      if (auto e = rangeError(spec, static_cast<double>(*v), text, parseNumber); !e.empty()) {
        return fail(e);
      }
      return {ParamValue{*v}, {}};
    }
    case ValueKind::Number: {
      auto v = parseNumber(text);
      if (!v) return fail(fmt::format("expected a number, got '{}'", text));
      if (auto e = rangeError(spec, *v, text, parseNumber); !e.empty()) return fail(e);
      return {ParamValue{*v}, {}};
    }
    case ValueKind::Duration: {
      auto v = parseDuration(text);
      if (!v) return fail(fmt::format("expected a duration like 250ms, 2s or 5m, got '{}'", text));
      if (auto e = rangeError(spec, *v, text, parseDuration); !e.empty()) return fail(e);
      return {ParamValue{*v}, {}};
    }
    case ValueKind::Percent: {
      auto v = parsePercent(text);
      if (!v) return fail(fmt::format("expected a percentage like 95%, got '{}'", text));
      if (auto e = rangeError(spec, *v, text, parsePercent); !e.empty()) return fail(e);
      return {ParamValue{*v}, {}};
    }
    default:
      return fail("internal: not a scalar kind");
  }
}

// Reports each {name} in `text` that is not a known placeholder.
void checkPlaceholders(ReaderContext& ctx, const YAML::Mark& at, std::string_view key,
                       const std::string& text) {
  // {Old_Primary} is a typo too; "{old_primary" without its brace would be sent as written.
  // {old_primary.api}: a value of the member in that role, checked against the members of
  // the components that run the plan once every component is read.
  static const std::regex pattern(R"(\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)?)(\}?))");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), pattern);
       it != std::sregex_iterator(); ++it) {
    std::string name = (*it)[1];
    if (auto dot = name.find('.'); dot != std::string::npos) {
      const std::string role = name.substr(0, dot);
      if (role == "old_primary" || role == "new_primary") name = role;
    }
    const auto& known = placeholders();
    const bool isKnown = std::find(known.begin(), known.end(), name) != known.end();
    if ((*it)[2].length() == 0) {
      if (isKnown) ctx.diag.error(at, fmt::format("{}: placeholder {{{} has no '}}'", key, name));
      continue;
    }
    if (isKnown) continue;
    std::string msg = fmt::format("{}: unknown placeholder {{{}}}", key, name);
    if (auto near = closestMatch(name, known)) msg += fmt::format("; did you mean {{{}}}?", *near);
    ctx.diag.error(at, msg);
  }
}

std::optional<Secret> readSecretFile(ReaderContext& ctx, const YAML::Node& value,
                                     std::string_view key) {
  std::filesystem::path path = value.Scalar();
  if (path.is_relative()) path = ctx.base_dir / path;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ctx.diag.error(value.Mark(), fmt::format("{}: cannot read '{}': {}", key, value.Scalar(),
                                             std::strerror(errno)));
    return std::nullopt;
  }
  std::ostringstream content;
  content << in.rdbuf();
  std::string secret = content.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) {
    ctx.diag.error(value.Mark(), fmt::format("{}: '{}' is empty", key, value.Scalar()));
    return std::nullopt;
  }
  return Secret{std::move(secret), "file " + path.string()};
}

std::optional<Secret> readSecretEnv(ReaderContext& ctx, const YAML::Node& value,
                                    std::string_view key) {
  static const std::regex reference(R"(^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$)");
  std::smatch m;
  const std::string& text = value.Scalar();
  if (!std::regex_match(text, m, reference)) {
    ctx.diag.error(value.Mark(),
                   fmt::format("{}: a secret must come from {}_file or ${{ENV_VAR}}, not a "
                               "literal value",
                               key, key));
    return std::nullopt;
  }
  const std::string name = m[1];
  std::optional<std::string> found = ctx.env(name);
  if (!found || found->empty()) {
    ctx.diag.error(value.Mark(), fmt::format("{}: environment variable {} is {}", key, name,
                                             found ? "empty" : "not set"));
    return std::nullopt;
  }
  return Secret{std::move(*found), "env " + name};
}

bool isPlainScalar(const YAML::Node& node) { return node.IsScalar(); }

// `key: ""`, `key:` or `key: []`: no value at all.
bool isEmptyValue(const YAML::Node& value) {
  return value.IsNull() || (value.IsScalar() && value.Scalar().empty()) ||
         (value.IsSequence() && value.size() == 0);
}

bool isScalarKind(ValueKind kind) {
  return kind != ValueKind::Section && kind != ValueKind::Sections && kind != ValueKind::List &&
         kind != ValueKind::Dict;
}

// Each item of a list or key of a map must have the spec's format, templated or not.
bool checkItem(ReaderContext& ctx, const KeySpec& spec, const std::string& written_key,
               const YAML::Node& item, const std::string& text) {
  const std::string error = formatError(spec.format, formOf(spec, text));
  if (error.empty()) return true;
  ctx.diag.error(item.Mark(), fmt::format("{}: {}", written_key, error));
  return false;
}

// The scalar's text, with a member's values filled in while a check is read for one.
std::string textOf(ReaderContext& ctx, const std::string& written_key, const YAML::Node& n) {
  return ctx.substitute ? ctx.substitute(n.Mark(), written_key, n.Scalar()) : n.Scalar();
}

// Reads a present key's value into `out`; reports what is wrong with it otherwise.
void readValue(ReaderContext& ctx, const KeySpec& spec, const std::string& written_key,
               const YAML::Node& value, const std::string& where, SectionValues& out) {
  const std::string key(spec.key);
  // An empty required value is a missing one, reported where it stands.
  if (spec.required && isScalarKind(spec.kind) && isEmptyValue(value)) {
    ctx.diag.error(value.IsNull() ? out.markOf(key) : value.Mark(),
                   fmt::format("{}missing required key '{}' (the value is empty)",
                               where.empty() ? "" : where + ": ", key));
    return;
  }
  auto wrongShape = [&](std::string_view expected) {
    ctx.diag.error(value.Mark(),
                   fmt::format("{}: expected {}, got {}", written_key, expected, describe(value)));
  };
  switch (spec.kind) {
    case ValueKind::Section:
    case ValueKind::Sections:
      if (!value.IsMap() && !value.IsNull()) return wrongShape("a map");
      out.children[key] = value;
      return;
    case ValueKind::List:
      if (!value.IsSequence()) return wrongShape("a list");
      out.children[key] = value;
      return;
    case ValueKind::SecretRef: {
      if (!isPlainScalar(value)) return wrongShape("a string");
      bool fromFile = written_key != key;
      auto secret = fromFile ? readSecretFile(ctx, value, written_key)
                             : readSecretEnv(ctx, value, written_key);
      if (secret) out.params.set(key, std::move(*secret));
      return;
    }
    case ValueKind::StringList: {
      if (!value.IsSequence()) return wrongShape("a list of strings");
      std::vector<std::string> items;
      for (const YAML::Node& item : value) {
        if (!isPlainScalar(item)) {
          ctx.diag.error(item.Mark(),
                         fmt::format("{}: expected a string, got {}", written_key, describe(item)));
          continue;
        }
        const std::string text = textOf(ctx, written_key, item);
        if (spec.templated) checkPlaceholders(ctx, item.Mark(), written_key, text);
        if (!checkItem(ctx, spec, written_key, item, text)) continue;
        items.push_back(text);
      }
      out.params.set(key, std::move(items));
      return;
    }
    case ValueKind::Dict: {
      if (!value.IsMap()) return wrongShape("a map of strings");
      StringMap items;
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (!isPlainScalar(it->first) || !isPlainScalar(it->second)) {
          ctx.diag.error(it->second.Mark(), fmt::format("{}: expected string values, got {}",
                                                        written_key, describe(it->second)));
          continue;
        }
        const std::string text = textOf(ctx, written_key, it->second);
        if (spec.templated) checkPlaceholders(ctx, it->second.Mark(), written_key, text);
        if (!checkItem(ctx, spec, written_key, it->first, it->first.Scalar())) continue;
        items[it->first.Scalar()] = text;
      }
      out.params.set(key, std::move(items));
      return;
    }
    default: {
      if (!isPlainScalar(value)) return wrongShape("a single value");
      const std::string text = textOf(ctx, written_key, value);
      if (spec.templated) checkPlaceholders(ctx, value.Mark(), written_key, text);
      Parsed parsed = parseScalar(spec, text);
      if (!parsed.value) {
        ctx.diag.error(value.Mark(), fmt::format("{}: {}", written_key, parsed.error));
        return;
      }
      out.params.set(key, std::move(*parsed.value));
    }
  }
}

const KeySpec* matchSpec(const SpecList& specs, const std::string& written) {
  for (const KeySpec* s : specs) {
    if (s->key == written) return s;
    if (s->kind == ValueKind::SecretRef && written == std::string(s->key) + "_file") return s;
  }
  return nullptr;
}

std::vector<std::string_view> spellings(const SpecList& specs, std::vector<std::string>& storage) {
  storage.clear();
  storage.reserve(specs.size() * 2);
  for (const KeySpec* s : specs) {
    storage.emplace_back(s->key);
    if (s->kind == ValueKind::SecretRef) storage.push_back(std::string(s->key) + "_file");
  }
  return {storage.begin(), storage.end()};
}

std::string inWhere(const std::string& where) {
  return where.empty() ? "at top level" : "in " + where;
}

void readKeys(ReaderContext& ctx, const YAML::Node& node, const std::string& where,
              const SpecList& specs, bool report_unknown, SectionValues& out) {
  std::map<std::string, YAML::Mark> seen;
  std::vector<std::string> storage;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node k = it->first;  // a copy: the iterator yields a temporary pair
    if (!k.IsScalar()) {
      ctx.diag.error(k.Mark(), "keys must be plain strings, got " + describe(k));
      continue;
    }
    const std::string& written = k.Scalar();
    if (auto [pos, fresh] = seen.emplace(written, k.Mark()); !fresh) {
      ctx.diag.error(k.Mark(), fmt::format("duplicate key '{}' (first at line {})", written,
                                           pos->second.line + 1));
      continue;
    }
    const KeySpec* spec = matchSpec(specs, written);
    if (spec == nullptr) {
      if (!report_unknown) continue;
      std::string msg = fmt::format("unknown key '{}' {}", written, inWhere(where));
      if (auto near = closestMatch(written, spellings(specs, storage))) {
        msg += fmt::format("; did you mean '{}'?", *near);
      }
      ctx.diag.error(k.Mark(), msg);
      continue;
    }
    const std::string key(spec->key);
    if (out.present(key)) {
      ctx.diag.error(k.Mark(), fmt::format("{} and {}_file are both set; keep one", key, key));
      continue;
    }
    out.marks[key] = it->second.IsNull() ? k.Mark() : it->second.Mark();
    readValue(ctx, *spec, written, it->second, where, out);
  }
}

}  // namespace

void Diagnostics::error(const YAML::Mark& at, std::string message) {
  // yaml-cpp marks are 0-based; a node without a position (-1) reports 1:1.
  errors_.push_back(
      {file_, std::max(at.line, 0) + 1, std::max(at.column, 0) + 1, std::move(message)});
}

std::vector<ConfigError> Diagnostics::take() {
  // A check read once per member repeats its member-independent errors: each is said once.
  std::vector<ConfigError> unique;
  for (auto& e : errors_) {
    if (std::none_of(unique.begin(), unique.end(), [&](const ConfigError& u) {
          return u.line == e.line && u.column == e.column && u.message == e.message;
        })) {
      unique.push_back(std::move(e));
    }
  }
  errors_ = std::move(unique);
  std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  return std::move(errors_);
}

const YAML::Mark& SectionValues::markOf(std::string_view key) const {
  auto it = marks.find(key);
  return it == marks.end() ? owner : it->second;
}

YAML::Node SectionValues::child(std::string_view key) const {
  auto it = children.find(key);
  return it == children.end() ? YAML::Node() : it->second;
}

SpecList specsOf(const SectionSpec& section) {
  SpecList out;
  for (const KeySpec& k : section.keys) out.push_back(&k);
  return out;
}

SpecList specsOf(const SectionSpec& common, const KindSpec& kind) {
  SpecList out = specsOf(common);
  for (const KeySpec& k : kind.keys) out.push_back(&k);
  return out;
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return fmt::format("'{}'", node.Scalar());
    default:
      return "nothing";
  }
}

std::optional<std::string> peekScalar(const YAML::Node& map, const std::string& key) {
  if (!map.IsMap()) return std::nullopt;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key && it->second.IsScalar()) {
      return it->second.Scalar();
    }
  }
  return std::nullopt;
}

SectionValues readSection(ReaderContext& ctx, const YAML::Node& node, const YAML::Mark& owner,
                          const std::string& where, const SpecList& specs, Reporting report) {
  SectionValues out;
  out.owner = owner;
  if (node.IsDefined() && !node.IsMap() && !node.IsNull()) {
    ctx.diag.error(node.Mark(), fmt::format("{}: expected a map, got {}",
                                            where.empty() ? "config" : where, describe(node)));
    report.missing = false;
  }
  if (node.IsMap()) readKeys(ctx, node, where, specs, report.unknown, out);
  for (const KeySpec* spec : specs) {
    const bool hasValue = out.params.has(spec->key) || out.children.count(spec->key) > 0;
    if (hasValue) continue;
    if (spec->required && !out.present(spec->key) && report.missing) {
      std::string alt = spec->kind == ValueKind::SecretRef ? fmt::format(" (or {}_file)", spec->key)
                                                           : std::string();
      ctx.diag.error(owner, fmt::format("{}missing required key '{}'{}",
                                        where.empty() ? "" : where + ": ", spec->key, alt));
    }
    // A value that failed to parse was reported; its default keeps the rest of the load going.
    if (!spec->default_text.empty()) {
      Parsed parsed = parseScalar(*spec, std::string(spec->default_text));
      if (parsed.value) out.params.set(std::string(spec->key), std::move(*parsed.value));
    }
  }
  return out;
}

void forEachNamed(
    ReaderContext& ctx, const YAML::Node& node, const std::string& where,
    const std::function<void(const std::string&, const YAML::Mark&, const YAML::Node&)>& fn) {
  static const std::regex valid(R"(^[a-z0-9_][a-z0-9_.-]*$)");
  if (!node.IsMap()) {
    if (node.IsDefined() && !node.IsNull()) {
      ctx.diag.error(node.Mark(),
                     fmt::format("{}: expected a map of names, got {}", where, describe(node)));
    }
    return;
  }
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node k = it->first;  // a copy: the iterator yields a temporary pair
    if (!k.IsScalar() || !std::regex_match(k.Scalar(), valid)) {
      ctx.diag.error(k.Mark(), fmt::format("{}: name {} must be lower case letters, digits, "
                                           "'_', '.' or '-'",
                                           where, describe(k)));
      continue;
    }
    if (!seen.insert(k.Scalar()).second) {
      ctx.diag.error(k.Mark(), fmt::format("{}: duplicate name '{}'", where, k.Scalar()));
      continue;
    }
    fn(k.Scalar(), k.Mark(), it->second);
  }
}

}  // namespace hftguard::config::detail

#include "hftguard/control/metrics.hpp"

#include <algorithm>

#include <cmath>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

namespace hftguard::control {
namespace {

const char* typeName(MetricType t) {
  switch (t) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Histogram:
      return "histogram";
  }
  return "untyped";
}

// Prometheus's float text: +Inf, -Inf, NaN, else the shortest round-tripping form.
std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

std::string escapeLabel(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escapeHelp(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string labelText(const Labels& labels, const std::pair<std::string, std::string>* extra) {
  if (labels.empty() && extra == nullptr) return "";
  std::string out = "{";
  bool first = true;
  auto put = [&](const std::string& k, const std::string& v) {
    if (!first) out += ',';
    first = false;
    out += k + "=\"" + escapeLabel(v) + "\"";
  };
  for (const auto& [k, v] : labels) put(k, v);
  if (extra != nullptr) put(extra->first, extra->second);
  return out + "}";
}

bool validName(std::string_view n, bool label) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                       (!label && c == ':');
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

}  // namespace

std::vector<double> latencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

Metrics::Family& Metrics::family(const std::string& name, MetricType type) {
  auto it = families_.find(name);
  if (it == families_.end() || it->second.type != type) {
    throw std::logic_error("metric " + name + " is not declared as a " + typeName(type));
  }
  return it->second;
}

void Metrics::counter(const std::string& name, const std::string& help) {
  std::lock_guard lock(mutex_);
  families_[name] = Family{MetricType::Counter, help, {}, {}};
}

void Metrics::gauge(const std::string& name, const std::string& help) {
  std::lock_guard lock(mutex_);
  families_[name] = Family{MetricType::Gauge, help, {}, {}};
}

void Metrics::histogram(const std::string& name, const std::string& help,
                        std::vector<double> buckets) {
  std::lock_guard lock(mutex_);
  families_[name] = Family{MetricType::Histogram, help, std::move(buckets), {}};
}

void Metrics::add(const std::string& name, const Labels& labels, double by) {
  std::lock_guard lock(mutex_);
  family(name, MetricType::Counter).series[labels].value += by;
}

void Metrics::total(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(mutex_);
  family(name, MetricType::Counter).series[labels].value = value;
}

void Metrics::set(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(mutex_);
  family(name, MetricType::Gauge).series[labels].value = value;
}

void Metrics::observe(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(mutex_);
  Family& f = family(name, MetricType::Histogram);
  Series& s = f.series[labels];
  if (s.counts.size() != f.buckets.size()) s.counts.assign(f.buckets.size(), 0);
  for (std::size_t i = 0; i < f.buckets.size(); ++i) {
    if (value <= f.buckets[i]) {
      s.counts[i] += 1;
      break;
    }
  }
  s.sum += value;
  s.count += 1;
}

void Metrics::clear(const std::string& name) {
  std::lock_guard lock(mutex_);
  family(name, MetricType::Gauge).series.clear();
}

void Metrics::forget(const Labels& match) {
  std::lock_guard lock(mutex_);
  for (auto& [name, f] : families_) {
    std::erase_if(f.series, [&](const auto& s) {
      return std::all_of(match.begin(), match.end(), [&](const auto& m) {
        return std::find(s.first.begin(), s.first.end(), m) != s.first.end();
      });
    });
  }
}

std::optional<double> Metrics::value(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(mutex_);
  auto f = families_.find(name);
  if (f == families_.end()) return std::nullopt;
  auto s = f->second.series.find(labels);
  if (s == f->second.series.end()) return std::nullopt;
  return f->second.type == MetricType::Histogram ? s->second.count : s->second.value;
}

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escapeHelp(f.help), name,
                       typeName(f.type));
    for (const auto& [labels, s] : f.series) {
      if (f.type != MetricType::Histogram) {
        out += fmt::format("{}{} {}\n", name, labelText(labels, nullptr), number(s.value));
        continue;
      }
      double cumulative = 0;
      for (std::size_t i = 0; i < f.buckets.size(); ++i) {
        cumulative += i < s.counts.size() ? s.counts[i] : 0;
        const std::pair<std::string, std::string> le{"le", number(f.buckets[i])};
        out += fmt::format("{}_bucket{} {}\n", name, labelText(labels, &le), number(cumulative));
      }
      const std::pair<std::string, std::string> inf{"le", "+Inf"};
      out += fmt::format("{}_bucket{} {}\n", name, labelText(labels, &inf), number(s.count));
      out += fmt::format("{}_sum{} {}\n", name, labelText(labels, nullptr), number(s.sum));
      out += fmt::format("{}_count{} {}\n", name, labelText(labels, nullptr), number(s.count));
    }
  }
  return out;
}

std::optional<Exposition> parseExposition(std::string_view text, std::string* error) {
  Exposition out;
  std::size_t line_no = 0;
  auto fail = [&](const std::string& why) -> std::optional<Exposition> {
    if (error != nullptr) *error = fmt::format("line {}: {}", line_no, why);
    return std::nullopt;
  };
  // The family a sample belongs to: a histogram's _bucket/_sum/_count name its base.
  auto familyOf = [&](const std::string& name) -> std::string {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      std::string_view s(suffix);
      if (name.size() > s.size() && name.ends_with(s)) {
        std::string base = name.substr(0, name.size() - s.size());
        auto t = out.types.find(base);
        if (t != out.types.end() && t->second == "histogram") return base;
      }
    }
    return name;
  };
  std::set<std::string> seen_series;
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return fail("the last line has no newline");
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (line.empty()) continue;
    if (line.starts_with("#")) {
      if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
        const bool type = line[2] == 'T';
        std::string_view rest = line.substr(7);
        const std::size_t sp = rest.find(' ');
        if (sp == std::string_view::npos) return fail("TYPE/HELP without a value");
        std::string name(rest.substr(0, sp));
        if (!validName(name, false)) return fail("bad metric name '" + name + "'");
        std::string value(rest.substr(sp + 1));
        if (type) {
          if (value != "counter" && value != "gauge" && value != "histogram" &&
              value != "summary" && value != "untyped") {
            return fail("unknown type '" + value + "'");
          }
          if (out.types.count(name)) return fail("a second TYPE for " + name);
          out.types[name] = value;
        } else {
          out.help[name] = value;
        }
      }
      continue;
    }
    Sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = std::string(line.substr(0, i));
    if (!validName(s.name, false)) return fail("bad metric name '" + s.name + "'");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::size_t eq = line.find('=', i);
        if (eq == std::string_view::npos) return fail("a label without '='");
        std::string key(line.substr(i, eq - i));
        if (!validName(key, true)) return fail("bad label name '" + key + "'");
        i = eq + 1;
        if (i >= line.size() || line[i] != '"') return fail("a label value not quoted");
        ++i;
        std::string value;
        for (;; ++i) {
          if (i >= line.size()) return fail("an unterminated label value");
          const char c = line[i];
          if (c == '"') break;
          if (c == '\\') {
            if (i + 1 >= line.size()) return fail("a dangling escape");
            const char n = line[++i];
            if (n == 'n') {
              value += '\n';
            } else if (n == '\\' || n == '"') {
              value += n;
            } else {
              return fail("an unknown escape");
            }
            continue;
          }
          value += c;
        }
        ++i;  // the closing quote
        s.labels.emplace_back(std::move(key), std::move(value));
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return fail("labels not closed");
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') return fail("no value");
    std::string value(line.substr(i + 1));
    if (const auto sp = value.find(' '); sp != std::string::npos) value.resize(sp);  // timestamp
    if (value == "+Inf") {
      s.value = INFINITY;
    } else if (value == "-Inf") {
      s.value = -INFINITY;
    } else if (value == "NaN") {
      s.value = NAN;
    } else {
      try {
        std::size_t used = 0;
        s.value = std::stod(value, &used);
        if (used != value.size()) return fail("bad value '" + value + "'");
      } catch (const std::exception&) {
        return fail("bad value '" + value + "'");
      }
    }
    const std::string fam = familyOf(s.name);
    if (!out.types.count(fam)) return fail("sample " + s.name + " before its TYPE");
    std::string key = s.name + labelText(s.labels, nullptr);
    if (!seen_series.insert(key).second) return fail("a second sample of " + key);
    out.samples.push_back(std::move(s));
  }
  return out;
}

}  // namespace hftguard::control

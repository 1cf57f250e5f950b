// hftguard events: the event log, readable or as JSON, filtered, optionally followed.
// hftguard explain EVENT_ID: the chain behind one decision.
#include <fstream>
#include <ostream>
#include <thread>

#include <fmt/ostream.h>
#include <sys/stat.h>

#include "hftguard/events/event.hpp"

#include "commands.hpp"

namespace hftguard::cli {
namespace {

// The log to read: --file, else the config's event_log.path (given `cfg`, the config is kept
// there). Both named is a usage error (`usage` set).
std::optional<std::string> logPath(const Args& args, std::ostream& err,
                                   std::shared_ptr<const config::Config>* cfg = nullptr,
                                   bool* usage = nullptr) {
  if (auto file = args.option("file")) {
    if (!args.config_option) return file;
    err << "hftguard: give --file LOG or --config FILE (whose event log is read), not both\n";
    if (usage != nullptr) *usage = true;
    return std::nullopt;
  }
  auto loaded = loadOrReport(args.config, err);
  if (!loaded) return std::nullopt;
  if (cfg != nullptr) *cfg = loaded;
  return loaded->event_log_path;
}

std::string field(const nlohmann::json& f, const char* key) {
  auto it = f.find(key);
  return it != f.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void printReadable(std::ostream& out, const events::Event& e) {
  std::string tag = field(e.fields, "tier");
  if (auto rule = field(e.fields, "rule"); !rule.empty()) tag += "/" + rule;
  if (auto by = field(e.fields, "suppressed_by"); !by.empty()) tag += " held:" + by;
  fmt::print(out, "{}  {:<20} {:<18} {:<22} {}  [{}]\n", events::formatTimestamp(e.at), e.type,
             e.component.empty() ? "-" : e.component, tag, e.reason, e.id);
}

// Reads whole lines from `in`; a trailing line without '\n' is left for the next read.
template <typename Fn>
void readLines(std::istream& in, std::string& partial, Fn&& onLine) {
  for (char c; in.get(c);) {
    if (c != '\n') {
      partial += c;
      continue;
    }
    onLine(partial);
    partial.clear();
  }
  in.clear();
}

}  // namespace

int cmdEvents(const Args& args, std::ostream& out, std::ostream& err) {
  std::shared_ptr<const config::Config> cfg;
  bool usage = false;
  auto path = logPath(args, err, &cfg, &usage);
  if (!path) return usage ? kExitUsage : kExitFailed;
  // With the config (not a copied --file): a component it does not have is a typo, not an
  // empty answer.
  if (auto c = args.option("component"); c && cfg && cfg->findComponent(*c) == nullptr) {
    std::string known;
    for (const auto& k : cfg->components) known += (known.empty() ? "" : ", ") + k.name;
    err << "hftguard events: no component '" << *c << "' in " << cfg->source_path << " ("
        << known << ")\n";
    return kExitUsage;
  }
  events::EventFilter filter{args.option("component").value_or(""),
                             events::splitList(args.option("type").value_or("")), {}};
  if (auto since = args.option("since")) {
    filter.since = events::parseSince(*since, std::chrono::system_clock::now());
    if (!filter.since) {
      err << "hftguard events: --since takes an RFC 3339 time (2026-11-27T09:30:00+01:00) or a "
             "duration back from now like 10m\n";
      return kExitUsage;
    }
  }
  const bool json = args.flag("json");
  std::ifstream in(*path);
  if (!in) {
    err << "hftguard events: cannot read " << *path << "\n";
    return kExitFailed;
  }
  std::size_t malformed = 0;
  std::string partial;
  auto onLine = [&](const std::string& line) {
    auto e = events::parseEventLine(line);
    if (!e) {
      ++malformed;
      return;
    }
    if (!filter.matches(*e)) return;
    if (json) {
      out << line << '\n';
    } else {
      printReadable(out, *e);
    }
  };
  readLines(in, partial, onLine);
  if (malformed > 0) err << "hftguard events: skipped " << malformed << " malformed lines\n";
  if (!args.flag("follow")) return kExitOk;
  out.flush();
  struct stat st {};
  ::stat(path->c_str(), &st);
  ino_t inode = st.st_ino;
  for (;;) {  // until interrupted
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    readLines(in, partial, onLine);
    out.flush();
    // logrotate moved the file: follow the new one from its start.
    if (::stat(path->c_str(), &st) == 0 && st.st_ino != inode) {
      inode = st.st_ino;
      in = std::ifstream(*path);
      partial.clear();
    }
  }
}

int cmdExplain(const Args& args, std::ostream& out, std::ostream& err) {
  bool usage = false;
  auto path = logPath(args, err, nullptr, &usage);
  if (!path) return usage ? kExitUsage : kExitFailed;
  const std::string& id = args.positional.front();
  std::ifstream in(*path);
  std::vector<events::Event> all;
  std::optional<events::Event> target;
  for (std::string line; std::getline(in, line);) {
    auto e = events::parseEventLine(line);
    if (!e) continue;
    if (e->id == id) {
      target = e;
      break;
    }
    all.push_back(std::move(*e));
  }
  if (!target) {
    err << "hftguard explain: no event " << id << " in " << *path << "\n";
    return kExitFailed;
  }
  const events::Event& e = *target;
  const WallTime from = e.at - std::chrono::minutes(10);
  auto leads = [&](const events::Event& prior) {
    return prior.at >= from && (e.component.empty() || prior.component == e.component);
  };
  if (args.json()) {
    // The event whole (its gates and evidence are fields of it) and the events before it.
    nlohmann::json leading = nlohmann::json::array();
    for (const auto& prior : all) {
      if (leads(prior)) leading.push_back(events::toJson(prior));
    }
    printJson(out, {{"event", events::toJson(e)}, {"leading", leading}});
    return kExitOk;
  }
  const nlohmann::json& f = e.fields;
  fmt::print(out, "event {}: {} at {} on node {}\n", e.id, e.type, events::formatTimestamp(e.at),
             e.node);
  fmt::print(out, "component: {}\n", e.component.empty() ? "(whole node)" : e.component);
  for (const char* key :
       {"tier", "rule", "plan", "suppressed_by", "from", "to", "owner", "expires"}) {
    if (auto v = field(f, key); !v.empty()) fmt::print(out, "{}: {}\n", key, v);
  }
  fmt::print(out, "reason: {}\n", e.reason);
  if (f.contains("gates")) {
    const auto& g = f["gates"];
    fmt::print(
        out, "gates: damping penalty {:.0f} ({}), cooldown {}, maintenance {}\n",
        g.value("penalty", 0.0), g.value("damped", false) ? "damped" : "not damped",
        g.contains("cooldown_until") ? "until " + g["cooldown_until"].get<std::string>() : "none",
        g.value("maintenance", false) ? "by " + g.value("maintenance_owner", std::string("?"))
                                      : "off");
  }
  if (f.contains("evidence")) {
    const auto& ev = f["evidence"];
    fmt::print(out, "thresholds crossed:\n");
    for (const auto& t : ev.value("thresholds", nlohmann::json::array())) {
      fmt::print(out, "  {:<14} {:<22} {:g}{} (limit {:g}{})\n", t.value("check", std::string("-")),
                 t.value("name", std::string()), t.value("observed", 0.0),
                 t.value("unit", std::string()), t.value("limit", 0.0),
                 t.value("unit", std::string()));
    }
    fmt::print(out, "evidence (recent samples):\n");
    for (const auto& s : ev.value("samples", nlohmann::json::array())) {
      fmt::print(out, "  {}  {:<14} {:<8} {:>8.1f}ms  {}\n", s.value("ts", std::string()),
                 s.value("check", std::string()), s.value("status", std::string()),
                 s.value("latency_ms", 0.0), s.value("reason", std::string()));
    }
  }
  fmt::print(out, "leading events ({}, the 10 minutes before):\n",
             e.component.empty() ? "the whole node" : e.component);
  for (const auto& prior : all) {
    if (leads(prior)) printReadable(out, prior);
  }
  return kExitOk;
}

}  // namespace hftguard::cli

#include "hftguard/control/status_page.hpp"

#include <fmt/format.h>

namespace hftguard::control {
namespace {

std::string esc(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string str(const nlohmann::json& j, const char* key, const char* otherwise = "-") {
  if (!j.is_object()) return otherwise;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return otherwise;
  if (it->is_string()) return it->get<std::string>().empty() ? otherwise : it->get<std::string>();
  return it->dump();
}

std::string list(const nlohmann::json& j) {
  std::string out;
  if (j.is_array()) {
    for (const auto& x : j) out += (out.empty() ? "" : ", ") + (x.is_string() ? x.get<std::string>() : x.dump());
  }
  return out.empty() ? "-" : out;
}

double num(const nlohmann::json& j, const char* key) {
  auto it = j.is_object() ? j.find(key) : j.end();
  return it != j.end() && it->is_number() ? it->get<double>() : 0;
}

}  // namespace

std::string renderStatusPage(const nlohmann::json& s) {
  std::string h;
  h += "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
       "<meta http-equiv=\"refresh\" content=\"5\">\n"
       "<title>hftguard " + esc(str(s, "node")) + "</title>\n"
       "<style>body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}"
       "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;"
       "padding:.3em .6em;text-align:left;vertical-align:top}th{background:#f4f4f4}"
       ".healthy{background:#d8f5d8}.failed{background:#f8d0d0}.suspect,.recovering"
       "{background:#fbeec0}.unknown{background:#eee}.paused{background:#f8d0d0;padding:.4em}"
       "code{font-size:12px}</style></head><body>\n";
  const auto& co = s.value("coordination", nlohmann::json::object());
  h += fmt::format("<h1>hftguard on {}</h1>\n<p id=\"node\">version {} &middot; pid {} &middot; "
                   "since {} &middot; coordination {}{} &middot; leader <b id=\"leader\">{}</b>"
                   "{}</p>\n",
                   esc(str(s, "node")), esc(str(s, "version")), esc(str(s, "pid")),
                   esc(str(s, "started")), esc(str(co, "type")),
                   str(co, "cluster", "").empty() ? "" : " cluster " + esc(str(co, "cluster", "")),
                   esc(str(co, "leader", "none")),
                   co.value("leading", false) ? " (this daemon)" : "");
  if (s.contains("paused") && s["paused"].is_object()) {
    h += fmt::format("<p class=\"paused\" id=\"paused\">Automatic failover PAUSED by {}: {}</p>\n",
                     esc(str(s["paused"], "owner")), esc(str(s["paused"], "reason")));
  } else {
    h += "<p id=\"automation\">Automatic failover: on</p>\n";
  }
  for (const auto& w : s.value("maintenance", nlohmann::json::array())) {
    h += fmt::format("<p>Maintenance of {} until {} by {}: {}</p>\n",
                     esc(str(w, "component", "the whole node")), esc(str(w, "expires")),
                     esc(str(w, "owner")), esc(str(w, "reason")));
  }
  h += "<h2>Components</h2>\n<table id=\"components\"><tr><th>component</th><th>health</th>"
       "<th>primary</th><th>standby</th><th>fenced</th><th>epoch</th><th>checks not ok</th>"
       "</tr>\n";
  const auto components = s.value("components", nlohmann::json::object());
  for (const auto& [name, c] : components.items()) {
    const std::string health = str(c, "health");
    const auto& r = c.value("roles", nlohmann::json());
    std::string standby = "-";
    if (c.contains("standby") && c["standby"].is_object()) {
      const auto& ready = c["standby"].contains("ready") ? c["standby"]["ready"] : nlohmann::json();
      standby = esc(str(c["standby"], "member")) +
                (ready == true    ? std::string(" (ready)")
                 : ready == false ? " (not ready: " + esc(str(c["standby"], "why")) + ")"
                                  : std::string(" (not probed)"));
    }
    std::string down;
    for (const auto& k : c.value("checks", nlohmann::json::array())) {
      const std::string st = str(k, "status");
      if (st == "ok" || st == "pending") continue;
      down += fmt::format("{}{} {}: {}", down.empty() ? "" : "<br>", esc(str(k, "name")), esc(st),
                          esc(str(k, "reason")));
    }
    std::string flags;
    if (c.value("maintenance", false)) flags += " (maintenance)";
    if (c.value("plan_running", false)) flags += " (failing over)";
    if (c.value("held", false)) flags += " (HELD for an operator)";
    h += fmt::format(
        "<tr data-component=\"{0}\"><td>{0}</td><td class=\"{1}\">{1}{2}</td><td>{3}</td>"
        "<td>{4}</td><td>{5}</td><td>{6}</td><td>{7}</td></tr>\n",
        esc(name), esc(health), esc(flags), r.is_object() ? esc(str(r, "primary")) : "-", standby,
        r.is_object() ? esc(list(r.value("fenced", nlohmann::json()))) : "-",
        r.is_object() ? esc(str(r, "epoch")) : "-", down.empty() ? "-" : down);
  }
  h += "</table>\n<h2>Last failovers</h2>\n";
  bool any = false;
  for (const auto& [name, c] : components.items()) {
    const auto& f = c.value("last_failover", nlohmann::json());
    if (!f.is_object()) continue;
    any = true;
    std::string rto;
    if (f.contains("rto_ms")) {
      rto = fmt::format(", RTO {:.0f} ms (target {:.0f} ms){}", num(f, "rto_ms"), num(f, "rto_target_ms"),
                        f.value("rto_met", true) ? "" : " MISSED");
    }
    h += fmt::format("<h3 data-failover=\"{0}\">{0}: {1}{2} &middot; plan {3} &middot; started {4} by "
                     "{5}{6}</h3>\n<p>{7}</p>\n<table><tr><th>step</th><th>action</th>"
                     "<th>result</th><th>ms</th><th>at</th></tr>\n",
                     esc(name), f.value("dry_run", false) ? "dry run " : "", esc(str(f, "outcome")),
                     esc(str(f, "plan")), esc(str(f, "started")), esc(str(f, "node")), rto,
                     esc(str(f, "reason", "")));
    for (const auto& st : f.value("steps", nlohmann::json::array())) {
      h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.0f}</td><td>{}</td></tr>\n",
                       esc(str(st, "step")), esc(str(st, "action")), esc(str(st, "result")),
                       num(st, "duration_ms"), esc(str(st, "ts")));
    }
    h += "</table>\n";
  }
  if (!any) h += "<p id=\"no-failover\">None since this daemon started.</p>\n";
  h += "<p><small>Refreshed every 5 s. JSON: <code>/status</code>, <code>/events</code>, "
       "<code>/plans</code>; Prometheus: <code>/metrics</code>.</small></p>\n</body></html>\n";
  return h;
}

}  // namespace hftguard::control

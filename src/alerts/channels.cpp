// The channel kinds by the config's name, and what they share.
#include "channels.hpp"

#include <fmt/format.h>

#include "hftguard/events/event.hpp"
#include "hftguard/net/http_client.hpp"

namespace hftguard::alerts::channels {

std::unique_ptr<Channel> makeChannel(const config::ChannelConfig& c, ChannelEnv& env) {
  if (c.type == "slack") return makeSlack(c, env);
  if (c.type == "pagerduty") return makePagerDuty(c, env);
  if (c.type == "email") return makeEmail(c, env);
  return nullptr;
}

std::string plainText(const Alert& a) {
  std::string out = fmt::format("{}\n{}\n\n", a.title, a.summary);
  out += fmt::format("severity: {}\nnode: {}\ncomponent: {}\n", config::toString(a.severity),
                     a.node, a.component);
  if (!a.tier.empty()) out += fmt::format("tier: {}\n", a.tier);
  if (!a.rule.empty()) out += fmt::format("rule: {}\n", a.rule);
  if (a.rto_ms >= 0) {
    out += fmt::format("RTO: {:.0f} ms (target {:.0f} ms)\n", a.rto_ms, a.rto_target_ms);
  }
  if (!a.event_id.empty()) out += fmt::format("event: {} ({})\n", a.event_id, a.event_type);
  out += fmt::format("incident: {}\ntime: {}\n", a.incident, events::formatTimestamp(a.at));
  if (!a.evidence.empty()) {
    out += "\nevidence:\n";
    for (const auto& line : a.evidence) out += "  " + line + "\n";
  }
  return out;
}

void postJson(ChannelEnv& env, const config::ChannelConfig& c, std::string url, std::string body,
              Duration timeout, long ok_status, std::string who, Channel::Done done) {
  net::HttpRequest r;
  r.method = "POST";
  r.url = std::move(url);
  r.timeout = timeout;
  r.tls_verify = c.params.flag("tls_verify");
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  env.http.send(std::move(r), [done, ok_status, who](net::HttpResponse resp) {
    if (!resp.answered) return done(fmt::format("{}: {}", who, resp.error), true);
    if (resp.status == ok_status) return done({}, false);
    const bool retry = resp.status == 429 || resp.status >= 500;
    done(fmt::format("{}: HTTP {}{}", who, resp.status,
                     resp.body.empty() ? "" : ": " + resp.body.substr(0, 200)),
         retry);
  });
}

}  // namespace hftguard::alerts::channels

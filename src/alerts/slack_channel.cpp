// Slack incoming webhook: POST {"text": ...} (mrkdwn) to the webhook URL, which is a secret.
// Slack answers 200 "ok"; 4xx (no_service, invalid_payload) will not get better.
#include <fmt/format.h>
#include <nlohmann/json.hpp>


#include "channels.hpp"

namespace hftguard::alerts::channels {
namespace {

std::string icon(const Alert& a) {
  if (a.action == Alert::Action::Resolve) return ":white_check_mark:";
  switch (a.severity) {
    case config::Severity::Critical:
      return ":rotating_light:";
    case config::Severity::Warning:
      return ":warning:";
    default:
      return ":information_source:";
  }
}

class Slack final : public Channel {
 public:
  Slack(const config::ChannelConfig& c, ChannelEnv& env) : cfg_(c), env_(env) {}

  void send(const Alert& a, Duration timeout, Done done) override {
    std::string text = fmt::format("{} *{}*\n{}", icon(a), a.title, a.summary);
    std::string facts = fmt::format("node `{}` · component `{}`", a.node, a.component);
    if (!a.tier.empty()) facts += fmt::format(" · tier {}", a.tier);
    if (a.rto_ms >= 0)
      facts += fmt::format(" · RTO {:.0f} ms (target {:.0f} ms)", a.rto_ms, a.rto_target_ms);
    if (!a.event_id.empty()) facts += fmt::format(" · event `{}`", a.event_id);
    text += "\n" + facts;
    if (!a.evidence.empty()) {
      text += "\n```";
      for (const auto& line : a.evidence) text += "\n" + line;
      text += "\n```";
    }
    nlohmann::json body = {{"text", text}, {"username", cfg_.params.str("username")}};
    if (cfg_.params.has("channel")) body["channel"] = cfg_.params.str("channel");
    postJson(env_, cfg_, cfg_.params.secret("webhook_url").reveal(), body.dump(), timeout, 200,
             "Slack webhook (" + cfg_.name + ")", std::move(done));
  }

 private:
  const config::ChannelConfig& cfg_;
  ChannelEnv& env_;
};

}  // namespace

std::unique_ptr<Channel> makeSlack(const config::ChannelConfig& c, ChannelEnv& env) {
  return std::make_unique<Slack>(c, env);
}

}  // namespace hftguard::alerts::channels

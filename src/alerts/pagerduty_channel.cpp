// PagerDuty Events API v2: POST /v2/enqueue with the routing key (a secret), event_action
// trigger or resolve, and one dedup_key per incident so the trigger and its resolve meet in
// one PagerDuty incident. PagerDuty answers 202; 400 is a malformed event, 429 a rate limit.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hftguard/events/event.hpp"

#include "channels.hpp"

namespace hftguard::alerts::channels {
namespace {

class PagerDuty final : public Channel {
 public:
  PagerDuty(const config::ChannelConfig& c, ChannelEnv& env) : cfg_(c), env_(env) {}

  void send(const Alert& a, Duration timeout, Done done) override {
    nlohmann::json body = {{"routing_key", cfg_.params.secret("routing_key").reveal()},
                           {"event_action", toString(a.action)},
                           {"dedup_key", a.incident},
                           {"client", "hftguard"}};
    if (a.action == Alert::Action::Trigger) {
      nlohmann::json details = {{"node", a.node},       {"event_id", a.event_id},
                                {"event_type", a.event_type}, {"tier", a.tier},
                                {"rule", a.rule},       {"reason", a.summary},
                                {"evidence", a.evidence}};
      if (a.rto_ms >= 0) {
        details["rto_ms"] = a.rto_ms;
        details["rto_target_ms"] = a.rto_target_ms;
      }
      std::string summary = a.title + ": " + a.summary;
      if (summary.size() > 1024) summary.resize(1024);  // the API's limit
      body["payload"] = {
          {"summary", summary},
          {"source", cfg_.params.has("source") ? cfg_.params.str("source") : a.node},
          {"severity", config::toString(a.severity)},
          {"component", a.component},
          {"group", a.node},
          {"class", a.event_type},
          {"timestamp", events::formatTimestamp(a.at)},
          {"custom_details", details}};
    }
    postJson(env_, cfg_, cfg_.params.str("url"), body.dump(), timeout, 202,
             "PagerDuty (" + cfg_.name + ")", std::move(done));
  }

 private:
  const config::ChannelConfig& cfg_;
  ChannelEnv& env_;
};

}  // namespace

std::unique_ptr<Channel> makePagerDuty(const config::ChannelConfig& c, ChannelEnv& env) {
  return std::make_unique<PagerDuty>(c, env);
}

}  // namespace hftguard::alerts::channels

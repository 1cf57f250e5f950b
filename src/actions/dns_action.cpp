// dns: point a record at the new primary through the PowerDNS HTTP API - PATCH the zone's
// rrset (REPLACE), then read the zone back and require the new content.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kinds.hpp"

namespace hftguard::actions::kinds {
namespace {

using nlohmann::json;

class Dns final : public HttpAction {
 public:
  Dns(const StepConfig& s, const PlanContext& c, ActionEnv& env)
      : HttpAction(env),
        step_(s),
        record_(fill(s.params.str("record"), c)),
        content_(fill(s.params.str("content"), c)) {
    const auto& p = s.params;
    zone_url_ = fmt::format("{}/api/v1/servers/{}/zones/{}", p.str("api_url"), p.str("server_id"),
                            p.str("zone"));
  }

  std::string describe() const override {
    return fmt::format("DNS {} {} -> {} (ttl {}) in zone {}", step_.params.str("record_type"),
                       record_, content_, step_.params.integer("ttl"), step_.params.str("zone"));
  }

  void check(Done done) override {
    current([this, done](std::optional<std::string> now, std::string error) {
      if (!error.empty()) return done(ActionResult::failure(error));
      done(ActionResult::success(
          fmt::format("{} is {}; would become {}", record_, now.value_or("(absent)"), content_)));
    });
  }

  void run(Done done) override {
    const auto& p = step_.params;
    json body = {{"rrsets",
                  {{{"name", record_},
                    {"type", p.str("record_type")},
                    {"ttl", p.integer("ttl")},
                    {"changetype", "REPLACE"},
                    {"records", {{{"content", content_}, {"disabled", false}}}}}}}};
    net::HttpRequest r = request("PATCH");
    r.body = body.dump();
    r.headers.emplace_back("Content-Type", "application/json");
    send(std::move(r), [this, done](const net::HttpResponse& resp) {
      if (!resp.answered || resp.status != 204) {
        return done(ActionResult::failure(
            fmt::format("PowerDNS PATCH {}: {}{}", zone_url_, outcome(resp),
                        resp.body.empty() ? "" : ": " + resp.body.substr(0, 200))));
      }
      current([this, done](std::optional<std::string> now, std::string error) {
        if (!error.empty())
          return done(ActionResult::failure("updated, but not read back: " + error));
        if (now != content_) {
          return done(ActionResult::failure(
              fmt::format("{} reads {} after the update", record_, now.value_or("(absent)"))));
        }
        done(ActionResult::success(fmt::format("{} -> {}, verified", record_, content_)));
      });
    });
  }

 private:
  net::HttpRequest request(std::string method) const {
    net::HttpRequest r = stepRequest(step_, std::move(method), zone_url_, step_.timeout);
    r.headers.emplace_back("X-API-Key", step_.params.secret("api_key").reveal());
    return r;
  }

  // The record's first content in the zone, or nullopt when it has none.
  void current(std::function<void(std::optional<std::string>, std::string)> then) {
    send(request("GET"), [this, then](const net::HttpResponse& resp) {
      auto zone = json::parse(resp.body, nullptr, false);
      if (!resp.answered || resp.status != 200 || zone.is_discarded() || !zone.is_object()) {
        return then(std::nullopt, fmt::format("PowerDNS GET {}: {}", zone_url_, outcome(resp)));
      }
      std::optional<std::string> content;
      try {
        content = find(zone);
      } catch (const json::exception& e) {  // a zone of another shape than PowerDNS's
        return then(std::nullopt,
                    fmt::format("PowerDNS GET {}: unexpected zone: {}", zone_url_, e.what()));
      }
      then(content, {});
    });
  }

  // Throws json::exception when the zone is not shaped as PowerDNS's.
  std::optional<std::string> find(const json& zone) const {
    for (const auto& rr : zone.value("rrsets", json::array())) {
      if (rr.value("name", "") == record_ &&
          rr.value("type", "") == step_.params.str("record_type") &&
          !rr.value("records", json::array()).empty()) {
        return rr.at("records").at(0).value("content", "");
      }
    }
    return std::nullopt;
  }

  const StepConfig& step_;
  std::string record_;
  std::string content_;
  std::string zone_url_;
};

}  // namespace

std::unique_ptr<Action> makeDns(const StepConfig& s, const PlanContext& c, ActionEnv& env) {
  return std::make_unique<Dns>(s, c, env);
}

}  // namespace hftguard::actions::kinds

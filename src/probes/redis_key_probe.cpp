// redis_key: the runbook's business-logic keys - a flag that must equal a value, a
// timestamp that must be fresh, a number that must stay below a bound, or a value that is
// only reported.
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "kinds.hpp"
#include "redis_common.hpp"

namespace hftguard::probes::kinds {
namespace {

std::optional<double> parseNumber(const std::string& text) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || ptr != text.data() + text.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

double unitSeconds(const std::string& unit) {
  if (unit == "ms") return 1e-3;
  if (unit == "us") return 1e-6;
  return 1;
}

class RedisKeyProbe final : public RedisProbeBase {
 public:
  using RedisProbeBase::RedisProbeBase;

  void start(Done done) override {
    run(
        {{"GET", check_.params.str("key")}},
        [this](const std::vector<TimedReply>& r) { return evaluate(r.at(0).reply); },
        std::move(done));
  }

 private:
  ProbeOutcome evaluate(const net::RedisReply& reply) const {
    const auto& p = check_.params;
    const std::string& key = p.str("key");
    const std::string& condition = p.str("condition");
    if (reply.type == net::RedisReply::Type::Nil) {
      // A missing flag or timestamp is a failure; a missing counter or report is not.
      if (condition == "equals" || condition == "fresh") {
        return ProbeOutcome::failed(fmt::format("{} is not set", key));
      }
      return ProbeOutcome::ok(fmt::format("{} is not set", key));
    }
    const std::string& value = reply.text;
    if (condition == "equals") {
      if (value == p.str("expect")) return ProbeOutcome::ok(fmt::format("{} is '{}'", key, value));
      return ProbeOutcome::failed(
          fmt::format("{} is '{}', expected '{}'", key, value, p.str("expect")));
    }
    const auto n = parseNumber(value);
    if (!n) {
      if (condition == "report") return ProbeOutcome::ok(fmt::format("{} is '{}'", key, value));
      return ProbeOutcome::failed(fmt::format("{} holds '{}', not a number", key, value));
    }
    if (condition == "below") {
      ProbeOutcome out = *n < p.number("max_value")
                             ? ProbeOutcome::ok(fmt::format("{} is {:g}", key, *n))
                             : ProbeOutcome::failed(fmt::format("{} is {:g}, not below {:g}", key,
                                                                *n, p.number("max_value")));
      return out.observe("value", *n);
    }
    const double stamp = *n * unitSeconds(p.str("timestamp_unit"));
    const double now =
        std::chrono::duration<double>(env_.clock.wallNow().time_since_epoch()).count();
    const double age = std::max(0.0, now - stamp);
    if (condition == "report") {
      ProbeOutcome out = ProbeOutcome::ok(fmt::format("{} is {}", key, value));
      out.observe("value", *n);
      // Plausibly a Unix timestamp (after 2001): report its age too.
      if (stamp > 1e9) {
        out.observe("age_seconds", age);
        out.reason += fmt::format(" ({:.1f}s ago)", age);
      }
      return out;
    }
    const double maxAge = std::chrono::duration<double>(p.duration("max_age")).count();
    ProbeOutcome out =
        age <= maxAge
            ? ProbeOutcome::ok(fmt::format("{} is {:.1f}s old", key, age))
            : ProbeOutcome::failed(fmt::format("{} is stale: {:.1f}s old, over {}", key, age,
                                               formatDuration(p.duration("max_age"))));
    return out.observe("age_seconds", age);
  }
};

}  // namespace

std::unique_ptr<Probe> makeRedisKey(const CheckConfig& c, ProbeEnv& env) {
  return std::make_unique<RedisKeyProbe>(c, env);
}

}  // namespace hftguard::probes::kinds

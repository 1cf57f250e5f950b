// redis: PING latency, INFO memory (used/maxmemory) and the replication role.
#include <charconv>

#include <fmt/format.h>

#include "kinds.hpp"
#include "redis_common.hpp"

namespace hftguard::probes::kinds {
namespace {

// "key:value" lines of an INFO reply.
std::optional<std::string> infoField(const std::string& info, std::string_view key) {
  const std::string needle = std::string(key) + ":";
  std::size_t pos = 0;
  while ((pos = info.find(needle, pos)) != std::string::npos) {
    if (pos == 0 || info[pos - 1] == '\n') {
      const std::size_t start = pos + needle.size();
      const std::size_t end = info.find_first_of("\r\n", start);
      return info.substr(start, end == std::string::npos ? std::string::npos : end - start);
    }
    pos += needle.size();
  }
  return std::nullopt;
}

std::optional<double> number(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  double v = 0;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc{} || ptr != text->data() + text->size()) return std::nullopt;
  return v;
}

class RedisProbe final : public RedisProbeBase {
 public:
  using RedisProbeBase::RedisProbeBase;

  void start(Done done) override {
    run(
        {{"PING"}, {"INFO", "memory"}, {"INFO", "replication"}},
        [this](const std::vector<TimedReply>& r) { return evaluate(r); }, std::move(done));
  }

 private:
  ProbeOutcome evaluate(const std::vector<TimedReply>& r) const {
    const auto& p = check_.params;
    if (r.size() != 3 || r[0].reply.text != "PONG") {
      return ProbeOutcome::failed(target() + ": unexpected PING reply");
    }
    const double ms = std::chrono::duration<double, std::milli>(r[0].after_send).count();
    const auto used = number(infoField(r[1].reply.text, "used_memory"));
    const auto max = number(infoField(r[1].reply.text, "maxmemory"));
    const auto role = infoField(r[2].reply.text, "role");
    if (!used || !max || !role) return ProbeOutcome::failed(target() + ": malformed INFO reply");
    const std::string roleName = *role == "slave" ? "replica" : *role;
    ProbeOutcome out =
        ProbeOutcome::ok(fmt::format("{} PONG in {:.2f}ms, role {}", target(), ms, roleName));
    out.observe("latency_ms", ms).observe("used_memory_bytes", *used);
    out.observe("is_master", roleName == "master" ? 1 : 0);
    const std::string& expect = p.str("expect_role");
    if (expect != "any" && expect != roleName) {
      out.status = ProbeStatus::Failed;
      out.reason = fmt::format("{} is a {}, expected {}", target(), roleName, expect);
      return out;
    }
    if (*max > 0) {
      const double ratio = *used / *max;
      out.observe("memory_ratio", ratio);
      if (ratio > p.number("max_memory_ratio")) {
        out.status = ProbeStatus::Failed;
        out.reason = fmt::format("{} memory {:.1f}% of maxmemory, over {}", target(), ratio * 100,
                                 formatPercent(p.number("max_memory_ratio")));
        return out;
      }
    }
    if (r[0].after_send > p.duration("max_latency")) {
      out.status = ProbeStatus::Failed;
      out.reason = fmt::format("{} slow PING: {:.2f}ms over {}", target(), ms,
                               formatDuration(p.duration("max_latency")));
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<Probe> makeRedis(const CheckConfig& c, ProbeEnv& env) {
  return std::make_unique<RedisProbe>(c, env);
}

}  // namespace hftguard::probes::kinds

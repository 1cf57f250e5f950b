#include "redis_common.hpp"

#include <fmt/format.h>

namespace hftguard::probes::kinds {

net::RedisTarget redisTarget(const config::Params& p) {
  net::RedisTarget t;
  t.host = p.str("host");
  t.port = static_cast<int>(p.integer("port"));
  if (p.has("username")) t.username = p.str("username");
  if (p.has("password")) t.password = p.secret("password").reveal();
  t.db = static_cast<int>(p.integer("db"));
  return t;
}

std::string RedisProbeBase::target() const {
  return fmt::format("redis {}:{}", check_.params.str("host"), check_.params.integer("port"));
}

void RedisProbeBase::run(std::vector<std::vector<std::string>> commands, Evaluate evaluate,
                         Done done) {
  // The session's callback never runs after cancel(), so it may use the probe.
  session_ =
      net::RedisSession::start(env_.io, redisTarget(check_.params), std::move(commands),
                               [this, evaluate = std::move(evaluate), done = std::move(done)](
                                   std::vector<TimedReply> replies, std::string error) {
                                 session_.reset();
                                 if (!error.empty())
                                   return done(ProbeOutcome::failed(target() + ": " + error));
                                 done(evaluate(replies));
                               });
}

}  // namespace hftguard::probes::kinds

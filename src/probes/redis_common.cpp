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

RedisProbeBase::RedisProbeBase(const config::CheckConfig& c, ProbeEnv& env)
    : check_(c), env_(env), target_(redisTarget(c.params)) {
  if (c.params.has("reconnect_every")) reconnect_every_ = c.params.integer("reconnect_every");
}

void RedisProbeBase::run(std::vector<std::vector<std::string>> commands, Evaluate evaluate,
                         Done done) {
  if (kept_ && runs_on_kept_ >= reconnect_every_) dropKept();  // prove a fresh one works
  ask(std::move(commands), std::move(evaluate), std::move(done), false);
}

void RedisProbeBase::dropKept() {
  if (kept_) kept_->close();
  kept_.reset();
}

void RedisProbeBase::ask(std::vector<std::vector<std::string>> commands, Evaluate evaluate,
                         Done done, bool retried) {
  std::shared_ptr<net::RedisConnection> reuse = std::move(kept_);
  const bool reusing = reuse != nullptr;
  runs_on_kept_ = reusing ? runs_on_kept_ + 1 : 1;
  // A kept connection that fails is asked again on a fresh one, so the commands are kept.
  auto again = reusing ? commands : std::vector<std::vector<std::string>>{};
  // The session's callback never runs after cancel(), so it may use the probe.
  session_ = net::RedisSession::start(
      env_.io, target_, std::move(commands),
      [this, reusing, retried, again = std::move(again), evaluate = std::move(evaluate),
       done = std::move(done)](std::vector<TimedReply> replies, std::string error) mutable {
        std::shared_ptr<net::RedisSession> session = std::move(session_);
        if (error.empty()) {
          kept_ = session->release();
          return done(evaluate(replies));
        }
        if (reusing && !retried && session->connectionFailed()) {
          // Lost while idle (server restarted, connection killed): not the server's answer.
          return ask(std::move(again), std::move(evaluate), std::move(done), true);
        }
        done(ProbeOutcome::failed(target() + ": " + error));
      },
      {reuse, /*keep=*/true});
}

}  // namespace hftguard::probes::kinds

#include "redis_common.hpp"

#include <fmt/format.h>

namespace hftguard::probes::kinds {

std::string RedisProbeBase::target() const {
  return fmt::format("redis {}:{}", check_.params.str("host"), check_.params.integer("port"));
}

struct RedisProbeBase::Run {
  std::vector<TimedReply> replies;
  std::size_t expected = 0;
  bool finished = false;  // no callback of this run may touch the probe once set
  SteadyTime sent{};
  Done done;
};

void RedisProbeBase::cancel() {
  if (run_) run_->finished = true;
  run_.reset();
  if (conn_) conn_->close();
  conn_.reset();
}

void RedisProbeBase::finish(const std::shared_ptr<Run>& run, ProbeOutcome outcome) {
  Done done = std::move(run->done);
  cancel();
  done(std::move(outcome));
}

void RedisProbeBase::run(std::vector<std::vector<std::string>> commands, Evaluate evaluate,
                         Done done) {
  const auto& p = check_.params;
  std::vector<std::vector<std::string>> all;
  if (p.has("password")) {
    std::vector<std::string> auth{"AUTH"};
    if (p.has("username")) auth.push_back(p.str("username"));
    auth.push_back(p.secret("password").reveal());
    all.push_back(std::move(auth));
  }
  if (p.integer("db") != 0) all.push_back({"SELECT", std::to_string(p.integer("db"))});
  const std::size_t setup = all.size();
  for (auto& c : commands) all.push_back(std::move(c));

  auto run = std::make_shared<Run>();
  run_ = run;
  run->expected = all.size();
  run->done = std::move(done);
  const std::string who = target();
  conn_ = net::RedisConnection::connect(
      env_.io, p.str("host"), static_cast<int>(p.integer("port")),
      [this, run, all, setup, who, evaluate](std::shared_ptr<net::RedisConnection> c,
                                             std::string error) {
        if (run->finished) return;
        if (!c) return finish(run, ProbeOutcome::failed(who + ": " + error));
        run->sent = env_.clock.now();
        for (std::size_t i = 0; i < all.size(); ++i) {
          c->command(all[i], [this, run, i, setup, who, evaluate](
                                 std::optional<net::RedisReply> reply, std::string err) {
            if (run->finished) return;
            auto fail = [&](std::string why) { finish(run, ProbeOutcome::failed(who + ": " + why)); };
            if (!reply) return fail(err);
            if (reply->isError()) {
              // Never echo an AUTH command; its error text holds no secret.
              return fail(i < setup ? "authentication/select failed: " + reply->text : reply->text);
            }
            if (i >= setup) run->replies.push_back({std::move(*reply), env_.clock.now() - run->sent});
            if (run->replies.size() + setup == run->expected) finish(run, evaluate(run->replies));
          });
        }
      });
}

}  // namespace hftguard::probes::kinds

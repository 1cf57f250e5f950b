#pragma once
// Private: what the redis and redis_key probes share - the check's Redis target and one
// connection kept between runs: a fresh one every `reconnect_every` runs (proof that the
// server still accepts connections), and at once when the kept one fails; a run fails only
// when the fresh connection fails too (the PostgreSQL probe's rule).

#include <functional>
#include <string>
#include <vector>

#include "hftguard/net/redis_session.hpp"
#include "hftguard/probes/probe.hpp"

namespace hftguard::probes::kinds {

using net::TimedReply;

// The Redis target of a check or step with redis connection keys (host, port, username,
// password, db).
net::RedisTarget redisTarget(const config::Params& p);

class RedisProbeBase : public Probe {
 public:
  using Evaluate = std::function<ProbeOutcome(const std::vector<TimedReply>&)>;

  RedisProbeBase(const config::CheckConfig& c, ProbeEnv& env);
  ~RedisProbeBase() override { cancel(); }
  // At the deadline: the run's connection may still owe replies, so it is not kept.
  void cancel() override {
    if (session_) session_->cancel();
    session_.reset();
    dropKept();
  }

 protected:
  void run(std::vector<std::vector<std::string>> commands, Evaluate evaluate, Done done);
  std::string target() const;

  const config::CheckConfig& check_;
  ProbeEnv& env_;

 private:
  void ask(std::vector<std::vector<std::string>> commands, Evaluate evaluate, Done done,
           bool retried);
  // Closes the kept connection: its pending read holds it alive, so letting go of the
  // pointer alone would leave the socket (and a Redis client slot) open for good.
  void dropKept();

  net::RedisTarget target_;
  std::int64_t reconnect_every_ = 60;
  std::shared_ptr<net::RedisSession> session_;
  std::shared_ptr<net::RedisConnection> kept_;
  std::int64_t runs_on_kept_ = 0;
};

}  // namespace hftguard::probes::kinds

#pragma once
// Private: what the redis and redis_key probes share - the check's Redis target and one
// session per run.

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

  RedisProbeBase(const config::CheckConfig& c, ProbeEnv& env) : check_(c), env_(env) {}
  ~RedisProbeBase() override { cancel(); }
  void cancel() override {
    if (session_) session_->cancel();
    session_.reset();
  }

 protected:
  void run(std::vector<std::vector<std::string>> commands, Evaluate evaluate, Done done);
  std::string target() const;

  const config::CheckConfig& check_;
  ProbeEnv& env_;

 private:
  std::shared_ptr<net::RedisSession> session_;
};

}  // namespace hftguard::probes::kinds

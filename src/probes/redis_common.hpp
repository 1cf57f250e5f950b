#pragma once
// Private: what the redis and redis_key probes share - connect, AUTH, SELECT, then the
// kind's commands pipelined, each reply timed.

#include <functional>
#include <string>
#include <vector>

#include "hftguard/net/redis_client.hpp"
#include "hftguard/probes/probe.hpp"

namespace hftguard::probes::kinds {

struct TimedReply {
  net::RedisReply reply;
  Duration after_send{};  // from sending the commands to this reply
};

class RedisProbeBase : public Probe {
 public:
  using Evaluate = std::function<ProbeOutcome(const std::vector<TimedReply>&)>;

  RedisProbeBase(const config::CheckConfig& c, ProbeEnv& env) : check_(c), env_(env) {}
  ~RedisProbeBase() override { cancel(); }
  void cancel() override;

 protected:
  void run(std::vector<std::vector<std::string>> commands, Evaluate evaluate, Done done);
  std::string target() const;

  const config::CheckConfig& check_;
  ProbeEnv& env_;

 private:
  struct Run;
  void finish(const std::shared_ptr<Run>& run, ProbeOutcome outcome);

  std::shared_ptr<Run> run_;  // the open run; cancel() marks it finished
  std::shared_ptr<net::RedisConnection> conn_;
};

}  // namespace hftguard::probes::kinds

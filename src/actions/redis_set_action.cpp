// redis_set: set a flag such as trading:enabled or system:maintenance_mode, and read it back.
#include <fmt/format.h>

#include "../probes/redis_common.hpp"
#include "kinds.hpp"

namespace hftguard::actions::kinds {
namespace {

class RedisSet final : public Action {
 public:
  RedisSet(const StepConfig& s, const PlanContext& c, ActionEnv& env)
      : step_(s),
        env_(env),
        key_(fill(s.params.str("key"), c)),
        value_(fill(s.params.str("value"), c)) {}
  ~RedisSet() override { cancel(); }

  std::string describe() const override {
    return fmt::format("SET {} {} on redis {}:{}{}", key_, value_, step_.params.str("host"),
                       step_.params.integer("port"),
                       step_.params.flag("verify") ? ", then read it back" : "");
  }

  void check(Done done) override {
    talk({{"GET", key_}}, std::move(done), [this](const std::vector<net::TimedReply>& r) {
      const auto& now = r.at(0).reply;
      return ActionResult::success(
          fmt::format("{} is {}; would become {}", key_,
                      now.type == net::RedisReply::Type::Nil ? "(not set)" : now.text, value_));
    });
  }

  void run(Done done) override {
    talk({{"SET", key_, value_}, {"GET", key_}}, std::move(done),
         [this](const std::vector<net::TimedReply>& r) {
           if (step_.params.flag("verify") && r.at(1).reply.text != value_) {
             return ActionResult::failure(
                 fmt::format("{} reads back '{}', not '{}'", key_, r.at(1).reply.text, value_));
           }
           return ActionResult::success(fmt::format("{} = {}", key_, value_));
         });
  }

  void cancel() override {
    if (session_) session_->cancel();
    session_.reset();
  }

 private:
  void talk(std::vector<std::vector<std::string>> commands, Done done,
            std::function<ActionResult(const std::vector<net::TimedReply>&)> then) {
    session_ = net::RedisSession::start(
        env_.io, probes::kinds::redisTarget(step_.params), std::move(commands),
        [this, done = std::move(done), then = std::move(then)](std::vector<net::TimedReply> r,
                                                               std::string error) {
          session_.reset();
          done(error.empty() ? then(r) : ActionResult::failure("redis: " + error));
        });
  }

  const StepConfig& step_;
  ActionEnv& env_;
  std::string key_;
  std::string value_;
  std::shared_ptr<net::RedisSession> session_;
};

}  // namespace

std::unique_ptr<Action> makeRedisSet(const StepConfig& s, const PlanContext& c, ActionEnv& env) {
  return std::make_unique<RedisSet>(s, c, env);
}

}  // namespace hftguard::actions::kinds

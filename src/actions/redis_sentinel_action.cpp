// redis_sentinel: follow (or trigger) a Sentinel failover. The master is what a majority of
// the Sentinels say, never one; the step ends when that master answers with role master.
// With demote_old_master, an old master that is still alive is made a replica of the new
// one at once, closing the ~11 s in which Sentinel leaves it a writable master.
#include <charconv>
#include <map>
#include <utility>

#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "hftguard/net/redis_session.hpp"

#include "kinds.hpp"

namespace hftguard::actions::kinds {
namespace {

using net::RedisReply;
using net::RedisSession;
using net::RedisTarget;
using net::TimedReply;

// "host:port"; port 0 (a connection that fails with a reason) when the text has none, as an
// address a Sentinel answered can be anything: never an exception on the loop.
std::pair<std::string, int> hostPort(const std::string& text) {
  const auto colon = text.rfind(':');
  int port = 0;
  if (colon == std::string::npos) return {text, 0};
  const auto [end, err] = std::from_chars(text.data() + colon + 1, text.data() + text.size(), port);
  if (err != std::errc() || end != text.data() + text.size()) port = 0;
  return {text.substr(0, colon), port};
}

class RedisSentinel final : public Action {
 public:
  RedisSentinel(const StepConfig& s, const PlanContext& c, ActionEnv& env)
      : step_(s), env_(env), timer_(env.io), fence_failed_(c.fence_failed) {
    if (c.switched && !c.old_primary.empty() && !c.new_primary.empty()) {
      announced_ = std::pair{c.old_primary, c.new_primary};
    }
  }
  ~RedisSentinel() override { cancel(); }

  std::string describe() const override {
    if (announced_) {
      return fmt::format(
          "follow Sentinel's switch of {} from {} to {}{}", step_.params.str("master_name"),
          announced_->first, announced_->second,
          step_.params.flag("demote_old_master") ? ", demote a live old master" : "");
    }
    return fmt::format("{}follow the majority of {} Sentinels for {}{}",
                       step_.params.flag("trigger_failover") ? "SENTINEL FAILOVER, then " : "",
                       step_.params.list("sentinels").size(), step_.params.str("master_name"),
                       step_.params.flag("demote_old_master") ? ", demote a live old master" : "");
  }

  void check(Done done) override {
    majority([this, done](std::optional<std::string> master, std::string why) {
      if (!master) return done(ActionResult::failure(why));
      role(*master, [this, done, m = *master](std::string r) {
        done(r == "master"
                 ? ActionResult::success(fmt::format("Sentinels agree: master {} (role master)", m))
                 : ActionResult::failure(fmt::format("Sentinels say {} but it answers {}", m, r)));
      });
    });
  }

  void run(Done done) override {
    if (announced_) {
      // A Sentinel announced the switch after its majority elected a leader: act on it now,
      // rather than waiting ~2 s for every Sentinel to repeat it.
      old_ = announced_->first;
      return confirm(announced_->second, done);
    }
    majority([this, done](std::optional<std::string> master, std::string why) {
      if (!master) return done(ActionResult::failure(why));
      old_ = *master;
      if (!step_.params.flag("trigger_failover")) return follow(done, false);
      // Asking for a promotion past a fence that failed in this plan: never.
      if (fence_failed_)
        return done(ActionResult::failure(
            "not asking for SENTINEL FAILOVER: a fence step earlier in this plan failed, so the "
            "old master may still take writes"));
      talk(sentinel(0), {"SENTINEL", "FAILOVER", step_.params.str("master_name")},
           [this, done](std::optional<RedisReply> r, std::string error) {
             if (!r) return done(ActionResult::failure("SENTINEL FAILOVER: " + error));
             follow(done, true);
           });
    });
  }

  void cancel() override {
    *alive_ = false;
    alive_ = std::make_shared<bool>(true);
    timer_.cancel();
    for (auto& s : sessions_) s->cancel();
    sessions_.clear();
  }

 private:
  using Reply = std::function<void(std::optional<RedisReply>, std::string)>;

  RedisTarget sentinel(std::size_t i) const {
    auto [host, port] = hostPort(step_.params.list("sentinels").at(i));
    RedisTarget t{host, port, {}, {}, 0};
    if (step_.params.has("sentinel_password"))
      t.password = step_.params.secret("sentinel_password").reveal();
    return t;
  }

  RedisTarget node(const std::string& address) const {
    auto [host, port] = hostPort(address);
    RedisTarget t{host, port, {}, {}, 0};
    if (step_.params.has("password")) t.password = step_.params.secret("password").reveal();
    return t;
  }

  // One command, answered within a second (a hung node must not hold the step to its
  // deadline); the callback never runs after cancel().
  void talk(const RedisTarget& t, std::vector<std::string> cmd, Reply reply) {
    auto alive = alive_;
    auto once = std::make_shared<Reply>(std::move(reply));
    auto timer = std::make_shared<boost::asio::steady_timer>(env_.io, std::chrono::seconds(1));
    auto session =
        RedisSession::start(env_.io, t, {std::move(cmd)},
                            [alive, once, timer](std::vector<TimedReply> r, std::string error) {
                              timer->cancel();
                              if (!*alive || !*once) return;
                              Reply cb = std::exchange(*once, nullptr);
                              if (!error.empty() || r.empty())
                                return cb(std::nullopt, error.empty() ? "no reply" : error);
                              cb(std::move(r[0].reply), {});
                            });
    timer->async_wait([alive, once, session](boost::system::error_code ec) {
      if (ec || !*alive || !*once) return;
      session->cancel();
      std::exchange(*once, nullptr)(std::nullopt, "no answer within 1s");
    });
    sessions_.push_back(std::move(session));
  }

  // What more than half of the Sentinels name as the master ("host:port").
  void majority(std::function<void(std::optional<std::string>, std::string)> then) {
    const auto& list = step_.params.list("sentinels");
    auto answers = std::make_shared<std::map<std::string, int>>();
    auto pending = std::make_shared<std::size_t>(list.size());
    for (std::size_t i = 0; i < list.size(); ++i) {
      talk(sentinel(i), {"SENTINEL", "get-master-addr-by-name", step_.params.str("master_name")},
           [answers, pending, then, n = list.size()](std::optional<RedisReply> r, std::string) {
             if (r && r->type == RedisReply::Type::Array && r->elements.size() == 2) {
               ++(*answers)[r->elements[0].text + ":" + r->elements[1].text];
             }
             if (--*pending > 0) return;
             std::string seen;
             for (const auto& [addr, count] : *answers) {
               if (count * 2 > static_cast<int>(n)) return then(addr, {});
               seen += fmt::format("{}{} x{}", seen.empty() ? "" : ", ", addr, count);
             }
             then(std::nullopt, fmt::format("no majority of {} Sentinels agrees on a master ({})",
                                            n, seen.empty() ? "no answers" : seen));
           });
    }
  }

  // ROLE's first element: "master", "slave", or why it could not be asked.
  void role(const std::string& address, std::function<void(std::string)> then) {
    talk(node(address), {"ROLE"}, [then](std::optional<RedisReply> r, std::string error) {
      if (!r) return then("no answer (" + error + ")");
      then(r->elements.empty() ? "unknown" : r->elements[0].text);
    });
  }

  // Polls until the majority's master (a new one when `must_change`) answers as master.
  void follow(Done done, bool must_change) {
    majority([this, done, must_change](std::optional<std::string> master, std::string) {
      if (!master || (must_change && *master == old_)) return later(done, must_change);
      role(*master, [this, done, must_change, m = *master](std::string r) {
        if (r != "master") return later(done, must_change);
        demote(m, done);
      });
    });
  }

  // Waits until the announced master answers as master, then demotes the old one.
  void confirm(const std::string& master, Done done) {
    role(master, [this, master, done](std::string r) {
      if (r == "master") return demote(master, done);
      timer_.expires_after(std::chrono::milliseconds(50));
      // alive: a wait that expired just before cancel() is queued with success already.
      timer_.async_wait([this, master, done, alive = alive_](boost::system::error_code ec) {
        if (!ec && *alive) confirm(master, done);
      });
    });
  }

  void later(Done done, bool must_change) {
    timer_.expires_after(std::chrono::milliseconds(50));
    timer_.async_wait([this, done, must_change, alive = alive_](boost::system::error_code ec) {
      if (!ec && *alive) follow(done, must_change);
    });
  }

  void demote(const std::string& master, Done done) {
    ActionResult ok = ActionResult::success(
        fmt::format("master of {} is {} (was {})", step_.params.str("master_name"), master, old_));
    ok.old_primary = old_;
    ok.new_primary = master;
    if (!step_.params.flag("demote_old_master") || master == old_) return done(ok);
    role(old_, [this, master, done, ok](std::string r) mutable {
      if (r != "master") {
        ok.detail += fmt::format("; old master {}: {}", old_, r);
        return done(ok);
      }
      auto [host, port] = hostPort(master);
      talk(node(old_), {"REPLICAOF", host, std::to_string(port)},
           [this, done, ok](std::optional<RedisReply> rep, std::string error) mutable {
             if (!rep || rep->isError()) {
               return done(ActionResult::failure(
                   fmt::format("old master {} still a master: REPLICAOF failed: {}", old_,
                               rep ? rep->text : error)));
             }
             role(old_, [this, done, ok](std::string r2) mutable {
               if (r2 != "slave") {
                 return done(ActionResult::failure(
                     fmt::format("old master {} answers {} after REPLICAOF", old_, r2)));
               }
               ok.detail += fmt::format("; old master {} demoted to a replica", old_);
               done(ok);
             });
           });
    });
  }

  const StepConfig& step_;
  ActionEnv& env_;
  boost::asio::steady_timer timer_;
  std::string old_;
  std::optional<std::pair<std::string, std::string>> announced_;  // old, new master
  bool fence_failed_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::vector<std::shared_ptr<RedisSession>> sessions_;
};

}  // namespace

std::unique_ptr<Action> makeRedisSentinel(const StepConfig& s, const PlanContext& c,
                                          ActionEnv& env) {
  return std::make_unique<RedisSentinel>(s, c, env);
}

}  // namespace hftguard::actions::kinds

#include "hftguard/net/redis_session.hpp"

#include <chrono>

namespace hftguard::net {

struct RedisSession::State {
  std::shared_ptr<RedisConnection> conn;
  std::vector<TimedReply> replies;
  std::size_t setup = 0;     // AUTH / SELECT commands before the caller's
  std::size_t expected = 0;  // all commands
  std::size_t answered = 0;
  std::chrono::steady_clock::time_point sent{};
  bool finished = false;
  bool keep = false;
  bool connection_failed = false;
  Done done;

  void finish(std::string error, bool by_connection = false) {
    if (finished) return;
    finished = true;
    connection_failed = !error.empty() && by_connection;
    if (conn && (!keep || !error.empty())) {
      conn->close();
      conn.reset();
    }
    Done d = std::move(done);
    d(std::move(replies), std::move(error));
  }

  // Sends `all` on `c` and collects the replies.
  static void send(const std::shared_ptr<State>& s, const std::shared_ptr<RedisConnection>& c,
                   const std::vector<std::vector<std::string>>& all) {
    std::weak_ptr<State> weak = s;
    s->sent = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < all.size(); ++i) {
      c->command(all[i], [weak, i](std::optional<RedisReply> reply, std::string err) {
        auto st = weak.lock();
        if (!st || st->finished) return;
        if (!reply) return st->finish(err, /*by_connection=*/true);
        if (reply->isError()) {
          return st->finish(i < st->setup ? "authentication/select failed: " + reply->text
                                          : reply->text);
        }
        if (i >= st->setup) {
          st->replies.push_back({std::move(*reply), std::chrono::steady_clock::now() - st->sent});
        }
        if (++st->answered == st->expected) st->finish({});
      });
    }
  }
};

std::shared_ptr<RedisSession> RedisSession::start(boost::asio::io_context& io,
                                                  const RedisTarget& target,
                                                  std::vector<std::vector<std::string>> commands,
                                                  Done done, RedisReuse reuse) {
  std::vector<std::vector<std::string>> all;
  if (target.password && !reuse.connection) {
    std::vector<std::string> auth{"AUTH"};
    if (!target.username.empty()) auth.push_back(target.username);
    auth.push_back(*target.password);
    all.push_back(std::move(auth));
  }
  if (target.db != 0 && !reuse.connection) all.push_back({"SELECT", std::to_string(target.db)});
  auto state = std::make_shared<State>();
  state->setup = all.size();
  for (auto& c : commands) all.push_back(std::move(c));
  state->expected = all.size();
  state->done = std::move(done);
  state->keep = reuse.keep;
  if (reuse.connection) {
    // Replies always come from the loop: `done` never runs inside start().
    state->conn = std::move(reuse.connection);
    State::send(state, state->conn, all);
    return std::shared_ptr<RedisSession>(new RedisSession(state));
  }
  std::weak_ptr<State> weak = state;
  state->conn = RedisConnection::connect(
      io, target.host, target.port,
      [weak, all](std::shared_ptr<RedisConnection> c, std::string error) {
        auto s = weak.lock();
        if (!s || s->finished) return;
        if (!c) return s->finish(error, /*by_connection=*/true);
        State::send(s, c, all);
      });
  return std::shared_ptr<RedisSession>(new RedisSession(state));
}

void RedisSession::cancel() {
  state_->finished = true;
  if (state_->conn) state_->conn->close();
  state_->conn.reset();
}

std::shared_ptr<RedisConnection> RedisSession::release() {
  if (!state_->finished || state_->connection_failed) return nullptr;
  return std::move(state_->conn);
}

bool RedisSession::connectionFailed() const { return state_->connection_failed; }

}  // namespace hftguard::net

// haproxy: the runtime API over a unix socket or TCP - `set server B/S state ...` and
// `set server B/S weight ...`, verified with `show servers state B`.
#include <cctype>
#include <charconv>

#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include "haproxy_state.hpp"
#include "kinds.hpp"

namespace hftguard::actions::kinds {
namespace {
namespace asio = boost::asio;

// One command, one connection: HAProxy answers and closes in non-interactive mode.
class RuntimeApi {
 public:
  using Reply = std::function<void(std::optional<std::string> answer, std::string error)>;

  RuntimeApi(asio::io_context& io, std::string address) : io_(io), address_(std::move(address)) {}
  ~RuntimeApi() { close(); }

  void send(std::string command, Reply reply) {
    auto alive = std::make_shared<bool>(true);
    alive_ = alive;
    if (address_.starts_with("unix:")) {
      auto s = std::make_shared<asio::local::stream_protocol::socket>(io_);
      unix_ = s;
      s->async_connect(asio::local::stream_protocol::endpoint(address_.substr(5)),
                       [s, command, reply, alive](boost::system::error_code ec) {
                         talk(s, command, reply, alive, ec);
                       });
      return;
    }
    const auto colon = address_.rfind(':');
    auto s = std::make_shared<asio::ip::tcp::socket>(io_);
    tcp_ = s;
    boost::system::error_code ec;
    const auto ip = asio::ip::make_address(address_.substr(0, colon), ec);
    if (ec) return reply(std::nullopt, "runtime API address must be an IP:port or unix:/path");
    unsigned short port = 0;
    const char* digits = address_.data() + colon + 1;
    const auto [end, perr] = std::from_chars(digits, address_.data() + address_.size(), port);
    if (perr != std::errc() || end != address_.data() + address_.size() || port == 0)
      return reply(std::nullopt, "runtime API address must be an IP:port or unix:/path");
    s->async_connect({ip, port}, [s, command, reply, alive](boost::system::error_code e) {
      talk(s, command, reply, alive, e);
    });
  }

  void close() {
    if (alive_) *alive_ = false;
    boost::system::error_code ignored;
    if (unix_) unix_->close(ignored);
    if (tcp_) tcp_->close(ignored);
  }

 private:
  template <typename Socket>
  static void talk(std::shared_ptr<Socket> s, const std::string& command, const Reply& reply,
                   std::shared_ptr<bool> alive, boost::system::error_code ec) {
    if (!*alive) return;
    if (ec) return reply(std::nullopt, "runtime API: " + ec.message());
    auto text = std::make_shared<std::string>(command + "\n");
    asio::async_write(
        *s, asio::buffer(*text), [s, text, reply, alive](boost::system::error_code e, std::size_t) {
          if (!*alive) return;
          if (e) return reply(std::nullopt, "runtime API: " + e.message());
          auto buf = std::make_shared<asio::streambuf>();
          asio::async_read(
              *s, *buf, [s, buf, reply, alive](boost::system::error_code r, std::size_t) {
                if (!*alive) return;
                if (r && r != asio::error::eof)
                  return reply(std::nullopt, "runtime API: " + r.message());
                reply(std::string(asio::buffers_begin(buf->data()), asio::buffers_end(buf->data())),
                      {});
              });
        });
  }

  asio::io_context& io_;
  std::string address_;
  std::shared_ptr<bool> alive_;
  std::shared_ptr<asio::local::stream_protocol::socket> unix_;
  std::shared_ptr<asio::ip::tcp::socket> tcp_;
};


class Haproxy final : public Action {
 public:
  Haproxy(const StepConfig& s, const PlanContext& c, ActionEnv& env)
      : step_(s),
        api_(env.io, s.params.str("socket")),
        backend_(fill(s.params.str("backend"), c)),
        server_(fill(s.params.str("server"), c)) {
    // Filled values go into a runtime API command line, where a space, ';' or newline would
    // be syntax (a second command): such a name is refused, never sent.
    for (const auto* name : {&backend_, &server_}) {
      for (unsigned char ch : *name) {
        if (!std::isgraph(ch) || ch == ';' || ch == '/') {
          refused_ = fmt::format(
              "haproxy: refusing name '{}': HAProxy names have no spaces, "
              "';', '/' or control characters",
              *name);
        }
      }
    }
  }

  std::string describe() const override {
    std::string what;
    if (step_.params.has("state")) what += "state " + step_.params.str("state");
    if (step_.params.has("weight"))
      what += (what.empty() ? "" : ", ") + fmt::format("weight {}", step_.params.integer("weight"));
    return fmt::format("haproxy {}: set server {}/{} {}", step_.params.str("socket"), backend_,
                       server_, what);
  }

  void check(Done done) override {
    if (!refused_.empty()) return done(ActionResult::failure(refused_));
    show([this, done](std::optional<ServerState> st, std::string error) {
      if (!st) return done(ActionResult::failure(error));
      done(ActionResult::success(fmt::format("{}/{} is op_state {} admin_state {} weight {}",
                                             backend_, server_, st->op_state, st->admin_state,
                                             st->weight)));
    });
  }

  void run(Done done) override {
    if (!refused_.empty()) return done(ActionResult::failure(refused_));
    std::vector<std::string> commands;
    const std::string target = fmt::format("set server {}/{} ", backend_, server_);
    if (step_.params.has("state"))
      commands.push_back(target + "state " + step_.params.str("state"));
    if (step_.params.has("weight"))
      commands.push_back(target + fmt::format("weight {}", step_.params.integer("weight")));
    next(std::move(commands), 0, std::move(done));
  }

  void cancel() override { api_.close(); }

 private:
  void next(std::vector<std::string> commands, std::size_t i, Done done) {
    if (i == commands.size()) return verify(std::move(done));
    const std::string cmd = commands[i];
    api_.send(
        cmd, [this, commands, i, done, cmd](std::optional<std::string> answer, std::string error) {
          if (!answer) return done(ActionResult::failure(error));
          // Success is an empty answer; anything else is HAProxy saying why not.
          std::string text = *answer;
          while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
          if (!text.empty())
            return done(ActionResult::failure(fmt::format("'{}': {}", cmd, text.substr(0, 200))));
          next(commands, i + 1, done);
        });
  }

  void show(std::function<void(std::optional<ServerState>, std::string)> then) {
    api_.send("show servers state " + backend_,
              [this, then](std::optional<std::string> answer, std::string error) {
                if (!answer) return then(std::nullopt, error);
                auto st = parseState(*answer, server_);
                if (!st)
                  return then(std::nullopt, fmt::format("no server {}/{} in 'show servers state'",
                                                        backend_, server_));
                then(st, {});
              });
  }

  void verify(Done done) {
    show([this, done](std::optional<ServerState> st, std::string error) {
      if (!st) return done(ActionResult::failure(error));
      const auto& p = step_.params;
      // admin_state bits: 0x01 forced maintenance, 0x08 forced drain.
      if (p.has("state")) {
        const std::string& want = p.str("state");
        const bool maint = st->admin_state & 0x01, drain = st->admin_state & 0x08;
        const bool ok = want == "maint"   ? maint
                        : want == "drain" ? drain && !maint
                                          : !maint && !drain;
        if (!ok) {
          return done(ActionResult::failure(fmt::format("{}/{} admin_state is {} after 'state {}'",
                                                        backend_, server_, st->admin_state, want)));
        }
      }
      if (p.has("weight") && st->weight != p.integer("weight")) {
        return done(
            ActionResult::failure(fmt::format("{}/{} weight is {} after 'weight {}'", backend_,
                                              server_, st->weight, p.integer("weight"))));
      }
      done(ActionResult::success(describe().substr(describe().find("set server")) + ", verified"));
    });
  }

  const StepConfig& step_;
  RuntimeApi api_;
  std::string backend_;
  std::string server_;
  std::string refused_;  // why a filled name cannot be sent
};

}  // namespace

std::unique_ptr<Action> makeHaproxy(const StepConfig& s, const PlanContext& c, ActionEnv& env) {
  return std::make_unique<Haproxy>(s, c, env);
}

}  // namespace hftguard::actions::kinds

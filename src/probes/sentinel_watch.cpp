#include "hftguard/probes/sentinel_watch.hpp"

#include <charconv>
#include <map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "hftguard/net/redis_client.hpp"
#include "hftguard/net/redis_session.hpp"

namespace hftguard::probes {
namespace {

constexpr auto kConnectDeadline = std::chrono::seconds(2);
constexpr auto kAskDeadline = std::chrono::seconds(1);  // a catch-up's answers

std::pair<std::string, int> hostPort(const std::string& text) {
  const auto colon = text.rfind(':');
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  int port = 0;  // not a port: the connection fails with a reason, nothing throws
  const auto [end, err] = std::from_chars(text.data() + colon + 1, text.data() + text.size(), port);
  if (err != std::errc() || end != text.data() + text.size()) port = 0;
  return {host, port};
}

std::string address(const std::string& host, const std::string& port) {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                             : fmt::format("{}:{}", host, port);
}

}  // namespace

struct SentinelWatch::Impl {
  struct Link {
    explicit Link(boost::asio::io_context& io, std::string a) : addr(std::move(a)), timer(io) {}
    std::string addr;
    std::shared_ptr<net::RedisConnection> conn;
    boost::asio::steady_timer timer;  // connect deadline, then the retry delay
    bool up = false;
    std::string last_error;  // reported once until the link changes
    std::uint64_t generation = 0;
  };

  Impl(boost::asio::io_context& context, const Clock& c, std::string comp,
       const config::FollowConfig& f, OnSwitch s, OnLink l)
      : io(context),
        clock(c),
        component(std::move(comp)),
        cfg(f),
        on_switch(std::move(s)),
        on_link(std::move(l)) {
    for (const auto& a : cfg.sentinels) links.push_back(std::make_unique<Link>(io, a));
  }

  // hiredis calls a subscription back once more when its connection is freed, which can be
  // after this watch is gone (the free is posted to the loop): every callback checks `alive`
  // before it touches the watch.
  void connect(Link& link) {
    if (stopped) return;
    const std::uint64_t gen = ++link.generation;
    auto [host, port] = hostPort(link.addr);
    std::weak_ptr<bool> live = alive;
    link.conn = net::RedisConnection::connect(
        io, host, port,
        [this, &link, gen, live](std::shared_ptr<net::RedisConnection> c, std::string error) {
          if (live.expired() || gen != link.generation) return;
          if (!c) return lost(link, "connect: " + error);
          link.timer.cancel();
          c->keepAlive(1, 1, 3);
          if (cfg.sentinel_password) {
            c->command({"AUTH", cfg.sentinel_password->reveal()},
                       [this, &link, gen, live](std::optional<net::RedisReply> r, std::string why) {
                         if (live.expired() || gen != link.generation) return;
                         if (!r || r->isError()) {
                           lost(link, "AUTH failed" + (r ? ": " + r->text : ": " + why));
                         }
                       });
          }
          c->subscribe("+switch-master",
                       [this, &link, gen, live](std::optional<net::RedisReply> r, std::string why) {
                         if (live.expired() || gen != link.generation) return;
                         if (!r) return lost(link, why);
                         onReply(link, *r);
                       });
        });
    link.timer.expires_after(kConnectDeadline);
    link.timer.async_wait([this, &link, gen](boost::system::error_code ec) {
      if (ec || gen != link.generation || link.up) return;
      lost(link, "no subscription within 2s");
    });
  }

  void onReply(Link& link, const net::RedisReply& r) {
    if (r.type != net::RedisReply::Type::Array || r.elements.size() < 3) return;
    const std::string& kind = r.elements[0].text;
    if (kind == "subscribe") {
      link.up = true;
      link.last_error.clear();
      if (on_link) on_link(link.addr, true, "subscribed to +switch-master");
      catchUp(link.addr);
      return;
    }
    if (kind != "message") return;
    // "<master name> <old ip> <old port> <new ip> <new port>"
    std::vector<std::string> words;
    std::string word;
    for (char ch : r.elements[2].text + " ") {
      if (ch == ' ') {
        if (!word.empty()) words.push_back(std::move(word));
        word.clear();
      } else {
        word += ch;
      }
    }
    if (words.size() != 5 || words[0] != cfg.master_name) return;
    MasterSwitch s{
        component, words[0],       address(words[1], words[2]), address(words[3], words[4]),
        link.addr, clock.wallNow()};
    if (s.new_master == known_master) return;  // another Sentinel repeating it
    known_master = s.new_master;
    if (on_switch) on_switch(s);
  }

  // One round of asking every Sentinel for the master, after a (re)subscribe.
  struct Round {
    std::map<std::string, int> votes;
    std::size_t pending = 0;
    bool over = false;
    std::vector<std::shared_ptr<net::RedisSession>> sessions;
    std::unique_ptr<boost::asio::steady_timer> timer;  // its handler keeps the round alive
  };

  // A switch made while this watch was not subscribed was announced to nobody listening:
  // after every (re)subscribe, a majority of the Sentinels is asked for the master, and a
  // master other than the last known one is reported as a switch. The first answer only
  // sets what is known (there is nothing to compare it with).
  void catchUp(const std::string& via) {
    auto round = std::make_shared<Round>();
    round->pending = links.size();
    round->timer = std::make_unique<boost::asio::steady_timer>(io, kAskDeadline);
    std::weak_ptr<Round> weak = round;
    std::weak_ptr<bool> live = alive;
    for (const auto& l : links) {
      auto [host, port] = hostPort(l->addr);
      net::RedisTarget t{host, port, {}, {}, 0};
      if (cfg.sentinel_password) t.password = cfg.sentinel_password->reveal();
      round->sessions.push_back(net::RedisSession::start(
          io, t, {{"SENTINEL", "get-master-addr-by-name", cfg.master_name}},
          [this, weak, live, via](std::vector<net::TimedReply> r, std::string error) {
            auto rd = weak.lock();
            if (!rd || live.expired() || rd->over) return;
            if (error.empty() && !r.empty() && r[0].reply.elements.size() == 2) {
              ++rd->votes[address(r[0].reply.elements[0].text, r[0].reply.elements[1].text)];
            }
            if (--rd->pending == 0) endRound(*rd, via);
          }));
    }
    round->timer->async_wait([this, round, live, via](boost::system::error_code ec) {
      if (!ec && !live.expired()) endRound(*round, via);
    });
  }

  void endRound(Round& round, const std::string& via) {
    if (round.over) return;
    round.over = true;
    round.timer->cancel();
    for (auto& s : round.sessions) s->cancel();
    if (stopped) return;
    for (const auto& [master, n] : round.votes) {
      if (n * 2 <= static_cast<int>(links.size())) continue;
      if (known_master.empty() || master == known_master) {
        known_master = master;
        return;
      }
      MasterSwitch s{component, cfg.master_name, known_master, master, via, clock.wallNow()};
      known_master = master;
      if (on_switch) on_switch(s);
      return;
    }
  }

  void lost(Link& link, const std::string& why) {
    ++link.generation;
    if (link.conn) link.conn->close();
    link.conn.reset();
    if (link.up || link.last_error != why) {
      if (on_link) on_link(link.addr, false, why);
    }
    link.up = false;
    link.last_error = why;
    if (stopped) return;
    const std::uint64_t gen = link.generation;
    link.timer.expires_after(cfg.reconnect);
    link.timer.async_wait([this, &link, gen](boost::system::error_code ec) {
      if (!ec && gen == link.generation) connect(link);
    });
  }

  void stop() {
    stopped = true;
    for (auto& l : links) {
      ++l->generation;
      l->timer.cancel();
      if (l->conn) l->conn->close();
      l->conn.reset();
      l->up = false;
    }
  }

  boost::asio::io_context& io;
  const Clock& clock;
  std::string component;
  config::FollowConfig cfg;
  OnSwitch on_switch;
  OnLink on_link;
  std::vector<std::unique_ptr<Link>> links;
  std::string known_master;  // the last switch's new master, or what a majority last said
  bool stopped = false;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);  // reset when the watch goes
};

SentinelWatch::SentinelWatch(boost::asio::io_context& io, const Clock& clock, std::string component,
                             const config::FollowConfig& cfg, OnSwitch on_switch, OnLink on_link)
    : impl_(std::make_unique<Impl>(io, clock, std::move(component), cfg, std::move(on_switch),
                                   std::move(on_link))) {}

SentinelWatch::~SentinelWatch() {
  impl_->stop();
  impl_->alive.reset();
}

void SentinelWatch::start() {
  impl_->stopped = false;
  for (auto& l : impl_->links) impl_->connect(*l);
}

void SentinelWatch::stop() { impl_->stop(); }

std::size_t SentinelWatch::linksUp() const {
  std::size_t n = 0;
  for (const auto& l : impl_->links) n += l->up ? 1 : 0;
  return n;
}

}  // namespace hftguard::probes

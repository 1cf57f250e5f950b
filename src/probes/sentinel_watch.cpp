#include "hftguard/probes/sentinel_watch.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "hftguard/net/redis_client.hpp"

namespace hftguard::probes {
namespace {

constexpr auto kConnectDeadline = std::chrono::seconds(2);

std::pair<std::string, int> hostPort(const std::string& text) {
  const auto colon = text.rfind(':');
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return {host, std::stoi(text.substr(colon + 1))};
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
      : io(context), clock(c), component(std::move(comp)), cfg(f), on_switch(std::move(s)),
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
                       [this, &link, gen, live](std::optional<net::RedisReply> r,
                                                std::string why) {
                         if (live.expired() || gen != link.generation) return;
                         if (!r || r->isError()) {
                           lost(link, "AUTH failed" + (r ? ": " + r->text : ": " + why));
                         }
                       });
          }
          c->subscribe("+switch-master",
                       [this, &link, gen, live](std::optional<net::RedisReply> r,
                                                std::string why) {
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
    MasterSwitch s{component,          words[0], address(words[1], words[2]),
                   address(words[3], words[4]), link.addr, clock.wallNow()};
    if (s.new_master == known_master) return;  // another Sentinel repeating it
    known_master = s.new_master;
    if (on_switch) on_switch(s);
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
  std::string known_master;  // the last switch's new master
  bool stopped = false;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);  // reset when the watch goes
};

SentinelWatch::SentinelWatch(boost::asio::io_context& io, const Clock& clock,
                             std::string component, const config::FollowConfig& cfg,
                             OnSwitch on_switch, OnLink on_link)
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

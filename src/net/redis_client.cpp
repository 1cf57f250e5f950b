#include "hftguard/net/redis_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "redis_reply.hpp"

namespace hftguard::net {
namespace asio = boost::asio;

struct RedisConnection::Impl {
  explicit Impl(asio::io_context& context) : io(context), resolver(context) {}

  asio::io_context& io;
  asio::ip::tcp::resolver resolver;
  std::weak_ptr<RedisConnection> self;
  redisAsyncContext* ac = nullptr;
  std::unique_ptr<asio::posix::stream_descriptor> socket;
  bool want_read = false, want_write = false;
  bool reading = false, writing = false;
  bool closing = false;
  ConnectDone on_connect;

  struct Pending {
    ReplyDone done;
  };

  static Impl& of(void* p) { return *static_cast<Impl*>(p); }

  // --- hiredis event hooks ---
  static void addRead(void* p) {
    of(p).want_read = true;
    of(p).arm();
  }
  static void delRead(void* p) { of(p).want_read = false; }
  static void addWrite(void* p) {
    of(p).want_write = true;
    of(p).arm();
  }
  static void delWrite(void* p) { of(p).want_write = false; }
  static void cleanup(void* p) {
    Impl& impl = of(p);
    impl.want_read = impl.want_write = false;
    if (impl.socket) {
      boost::system::error_code ignored;
      impl.socket->cancel(ignored);
      (void)impl.socket->release();  // hiredis closes the fd itself
    }
  }

  void arm() {
    auto owner = self.lock();
    if (!owner || !socket || !socket->is_open()) return;
    if (want_read && !reading) {
      reading = true;
      socket->async_wait(asio::posix::stream_descriptor::wait_read,
                         [this, owner](boost::system::error_code ec) {
                           reading = false;
                           if (!ec && ac != nullptr && want_read) redisAsyncHandleRead(ac);
                           arm();
                         });
    }
    if (want_write && !writing) {
      writing = true;
      socket->async_wait(asio::posix::stream_descriptor::wait_write,
                         [this, owner](boost::system::error_code ec) {
                           writing = false;
                           if (!ec && ac != nullptr && want_write) redisAsyncHandleWrite(ac);
                           arm();
                         });
    }
  }

  static void onConnected(const redisAsyncContext* c, int status) {
    Impl& impl = of(c->ev.data);
    ConnectDone done = std::move(impl.on_connect);
    if (status != REDIS_OK) {
      std::string error = c->errstr[0] != '\0' ? c->errstr : "connection failed";
      impl.ac = nullptr;  // hiredis frees a context whose connect failed
      if (done) done(nullptr, error);
      return;
    }
    if (done) done(impl.self.lock(), {});
  }

  static void onDisconnected(const redisAsyncContext* c, int) { of(c->ev.data).ac = nullptr; }

  static void onReply(redisAsyncContext*, void* reply, void* privdata) {
    std::unique_ptr<Pending> p(static_cast<Pending*>(privdata));
    if (reply == nullptr) {
      p->done(std::nullopt, "connection closed");
    } else {
      p->done(convertReply(static_cast<redisReply*>(reply)), {});
    }
  }

  // A subscription's callback stays registered in hiredis until the connection ends, when it
  // gets a null reply once: only then is its Pending freed.
  static void onMessage(redisAsyncContext*, void* reply, void* privdata) {
    auto* p = static_cast<Pending*>(privdata);
    if (reply == nullptr) {
      std::unique_ptr<Pending> owned(p);
      owned->done(std::nullopt, "connection closed");
      return;
    }
    p->done(convertReply(static_cast<redisReply*>(reply)), {});
  }

  void attach(const std::string& ip, int port) {
    ac = redisAsyncConnect(ip.c_str(), port);
    if (ac == nullptr || ac->err != 0) {
      std::string error = ac != nullptr ? ac->errstr : "out of memory";
      if (ac != nullptr) redisAsyncFree(ac);
      ac = nullptr;
      failConnect(error);
      return;
    }
    capReplyArrays(ac->c.reader);  // a garbage multibulk header never allocates gigabytes
    ac->ev.data = this;
    ac->ev.addRead = &Impl::addRead;
    ac->ev.delRead = &Impl::delRead;
    ac->ev.addWrite = &Impl::addWrite;
    ac->ev.delWrite = &Impl::delWrite;
    ac->ev.cleanup = &Impl::cleanup;
    socket = std::make_unique<asio::posix::stream_descriptor>(io, ac->c.fd);
    redisAsyncSetConnectCallback(ac, &Impl::onConnected);
    redisAsyncSetDisconnectCallback(ac, &Impl::onDisconnected);
    // The non-blocking connect completes when the socket turns writable.
    want_write = true;
    arm();
  }

  void failConnect(const std::string& error) {
    ConnectDone done = std::move(on_connect);
    if (done) asio::post(io, [done, error] { done(nullptr, error); });
  }

  void freeContext() {
    resolver.cancel();
    if (ac == nullptr) return;
    redisAsyncContext* c = ac;
    ac = nullptr;
    redisAsyncFree(c);  // pending replies get a null reply -> "connection closed"
  }
};

RedisConnection::RedisConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RedisConnection::~RedisConnection() {
  impl_->on_connect = nullptr;
  impl_->freeContext();
}

std::shared_ptr<RedisConnection> RedisConnection::connect(asio::io_context& io, std::string host,
                                                          int port, ConnectDone done) {
  std::shared_ptr<RedisConnection> conn(new RedisConnection(std::make_unique<Impl>(io)));
  Impl& impl = *conn->impl_;
  impl.self = conn;
  impl.on_connect = std::move(done);
  std::weak_ptr<RedisConnection> weak = conn;
  impl.resolver.async_resolve(
      host, std::to_string(port),
      [weak, port](boost::system::error_code ec, asio::ip::tcp::resolver::results_type results) {
        auto c = weak.lock();
        if (!c || c->impl_->closing) return;
        if (ec || results.empty()) {
          c->impl_->failConnect("cannot resolve host: " + ec.message());
          return;
        }
        c->impl_->attach(results.begin()->endpoint().address().to_string(), port);
      });
  return conn;
}

void RedisConnection::command(std::vector<std::string> argv, ReplyDone done) {
  Impl& impl = *impl_;
  if (impl.ac == nullptr || impl.closing) {
    asio::post(impl.io, [done] { done(std::nullopt, "not connected"); });
    return;
  }
  std::vector<const char*> args;
  std::vector<std::size_t> lens;
  for (const std::string& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* pending = new Impl::Pending{std::move(done)};
  if (redisAsyncCommandArgv(impl.ac, &Impl::onReply, pending, static_cast<int>(args.size()),
                            args.data(), lens.data()) != REDIS_OK) {
    std::unique_ptr<Impl::Pending> p(pending);
    asio::post(impl.io, [d = std::move(p->done)] { d(std::nullopt, "connection is closing"); });
  }
}

void RedisConnection::subscribe(const std::string& channel, ReplyDone each) {
  Impl& impl = *impl_;
  if (impl.ac == nullptr || impl.closing) {
    asio::post(impl.io, [each] { each(std::nullopt, "not connected"); });
    return;
  }
  const char* args[] = {"SUBSCRIBE", channel.data()};
  const std::size_t lens[] = {9, channel.size()};
  auto* pending = new Impl::Pending{std::move(each)};
  if (redisAsyncCommandArgv(impl.ac, &Impl::onMessage, pending, 2, args, lens) != REDIS_OK) {
    std::unique_ptr<Impl::Pending> p(pending);
    asio::post(impl.io, [d = std::move(p->done)] { d(std::nullopt, "connection is closing"); });
  }
}

void RedisConnection::keepAlive(int idle, int interval, int count) {
  if (impl_->ac == nullptr) return;
  const int fd = impl_->ac->c.fd;
  const int on = 1;
  const unsigned int userTimeout = static_cast<unsigned int>((idle + interval * count) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  // Also bounds data left unacknowledged, which keepalive alone does not.
  setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &userTimeout, sizeof userTimeout);
}

void RedisConnection::close() {
  Impl& impl = *impl_;
  if (impl.closing) return;
  impl.closing = true;
  impl.on_connect = nullptr;
  // Freed from the loop, never from inside a hiredis callback.
  asio::post(impl.io, [self = shared_from_this()] { self->impl_->freeContext(); });
}

}  // namespace hftguard::net

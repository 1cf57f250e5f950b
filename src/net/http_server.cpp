#include "hftguard/net/http_server.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <curl/curl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <fcntl.h>
#include <sys/stat.h>

namespace hftguard::net {
namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using unix_socket = asio::local::stream_protocol;

namespace {

// Never inherited by a program a plan step starts (exec_action also closes them in the child).
void closeOnExec(int fd) {
  const int flags = ::fcntl(fd, F_GETFD);
  if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

// A connection: read a request, hand it to the handler, write its reply, and again while
// the client keeps the connection alive. Owned by itself (shared_ptr) and by the server's
// list, which closes it on stop().
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Closed = std::function<void(Connection*)>;

  Connection(asio::io_context& io, ServerHandler& handler, const HttpServer::Limits& limits,
             bool unix, std::string peer, Closed closed)
      : timer_(io),
        handler_(handler),
        limits_(limits),
        unix_(unix),
        peer_(std::move(peer)),
        closed_(std::move(closed)) {}
  virtual ~Connection() = default;

  void start() { readOne(); }
  bool overUnix() const { return unix_; }
  virtual void close() = 0;

 protected:
  virtual void asyncRead(std::function<void(boost::system::error_code)> done) = 0;
  virtual void asyncWrite(std::function<void(boost::system::error_code)> done) = 0;

  void readOne() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(limits_.max_body);
    arm(limits_.idle, [](Connection& c) { c.finish(); });
    asyncRead([self = shared_from_this()](boost::system::error_code ec) { self->onRead(ec); });
  }

  void onRead(boost::system::error_code ec) {
    disarm();
    if (done_) return;
    if (ec == http::error::body_limit || ec == http::error::header_limit) {
      return answer(ServerResponse{413, "application/json", R"({"error":"request too large"})", {}},
                    false);
    }
    if (ec) return finish();
    auto req = parser_->release();
    ServerRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    const auto q = r.target.find('?');
    r.path = r.target.substr(0, q);
    if (q != std::string::npos) r.query = r.target.substr(q + 1);
    r.body = std::move(req.body());
    r.authorization = std::string(req[http::field::authorization]);
    r.content_type = std::string(req[http::field::content_type]);
    r.unix_socket = unix_;
    r.peer = peer_;
    r.host = std::string(req[http::field::host]);
    const bool keep = req.keep_alive();
    version_ = req.version();
    // The reply may come later: once, for this request only (not a later one on the same
    // connection), and within `reply_within` - else 504 and the connection closes.
    const std::uint64_t request = ++request_;
    answered_ = false;
    arm(limits_.reply_within, [request](Connection& c) {
      if (c.request_ != request || c.answered_) return;
      c.answered_ = true;
      c.answer(ServerResponse{504, "application/json", R"j({"error":"no answer in time"})j", {}},
               false);
    });
    auto reply = [self = shared_from_this(), keep, request](ServerResponse res) {
      if (self->request_ != request || self->answered_) return;
      self->answered_ = true;
      self->disarm();
      self->answer(std::move(res), keep);
    };
    try {
      handler_(r, reply);
    } catch (const std::exception& e) {  // a handler's bug is a 500, never the daemon's end
      spdlog::error("control API: {} {} failed: {}", r.method, r.path, e.what());
      reply(ServerResponse{500, "application/json", R"j({"error":"internal error (logged)"})j", {}});
    }
  }

  void answer(ServerResponse res, bool keep) {
    if (done_) return;
    response_ = {};
    response_.version(version_);
    response_.result(static_cast<unsigned>(res.status));
    response_.set(http::field::server, "hftguard");
    response_.set(http::field::content_type, res.content_type);
    response_.set(http::field::cache_control, "no-store");
    for (const auto& [k, v] : res.headers) response_.set(k, v);
    response_.body() = std::move(res.body);
    response_.keep_alive(keep);
    response_.prepare_payload();
    arm(limits_.idle, [](Connection& c) { c.finish(); });  // a client that does not read
    asyncWrite([self = shared_from_this(), keep](boost::system::error_code ec) {
      self->disarm();
      if (ec || !keep) return self->finish();
      self->readOne();
    });
  }

  // One timer for the phases (reading, waiting for the handler, writing): each arming has a
  // generation, so an expiry already queued when the phase moved on does nothing.
  void arm(Duration d, std::function<void(Connection&)> fire) {
    const std::uint64_t gen = ++timer_gen_;
    timer_.expires_after(d);
    timer_.async_wait([self = weak_from_this(), gen, fire = std::move(fire)](
                          boost::system::error_code ec) {
      auto s = self.lock();
      if (!s || ec || s->timer_gen_ != gen || s->done_) return;
      fire(*s);
    });
  }
  void disarm() {
    ++timer_gen_;
    timer_.cancel();
  }

  void finish() {
    if (done_) return;
    done_ = true;
    disarm();
    close();
    if (closed_) closed_(this);
  }

  asio::steady_timer timer_;
  ServerHandler& handler_;
  const HttpServer::Limits& limits_;
  bool unix_;
  std::string peer_;
  Closed closed_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  unsigned version_ = 11;
  std::uint64_t request_ = 0;
  std::uint64_t timer_gen_ = 0;
  bool answered_ = false;
  bool done_ = false;
};

template <typename Socket>
class SocketConnection final : public Connection {
 public:
  SocketConnection(asio::io_context& io, Socket socket, ServerHandler& handler,
                   const HttpServer::Limits& limits, bool unix, std::string peer, Closed closed)
      : Connection(io, handler, limits, unix, std::move(peer), std::move(closed)),
        socket_(std::move(socket)) {}

  void close() override {
    boost::system::error_code ignored;
    socket_.shutdown(Socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 protected:
  void asyncRead(std::function<void(boost::system::error_code)> done) override {
    http::async_read(socket_, buffer_, *parser_,
                     [done = std::move(done)](boost::system::error_code ec, std::size_t) { done(ec); });
  }
  void asyncWrite(std::function<void(boost::system::error_code)> done) override {
    http::async_write(socket_, response_,
                      [done = std::move(done)](boost::system::error_code ec, std::size_t) { done(ec); });
  }

 private:
  Socket socket_;
};

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& i, ServerHandler h, Limits l)
      : io(i), handler(std::move(h)), limits(l) {}

  asio::io_context& io;
  ServerHandler handler;
  Limits limits;
  std::optional<tcp::acceptor> tcp_acceptor;
  std::optional<unix_socket::acceptor> unix_acceptor;
  std::string unix_path;
  ino_t unix_inode = 0;
  std::set<std::shared_ptr<Connection>> open;
  bool stopped = false;

  Connection::Closed onClosed() {
    return [weak = weak_from_this()](Connection* c) {
      auto self = weak.lock();
      if (!self) return;
      // Erased from a posted handler: the connection may still be inside its own call.
      asio::post(self->io, [weak, c] {
        if (auto s = weak.lock()) {
          std::erase_if(s->open, [c](const auto& p) { return p.get() == c; });
        }
      });
    };
  }

  // Each listener has its own budget: connections held open over TCP never lock an
  // operator out of the socket.
  template <typename Socket>
  void admit(Socket socket, bool unix, std::string peer) {
    const std::size_t mine = static_cast<std::size_t>(std::count_if(
        open.begin(), open.end(), [unix](const auto& c) { return c->overUnix() == unix; }));
    if (stopped || mine >= limits.max_connections) {
      boost::system::error_code ignored;
      socket.close(ignored);
      return;
    }
    closeOnExec(socket.native_handle());
    auto c = std::make_shared<SocketConnection<Socket>>(io, std::move(socket), handler, limits, unix,
                                                        std::move(peer), onClosed());
    open.insert(c);
    c->start();
  }

  void acceptTcp() {
    tcp_acceptor->async_accept([self = shared_from_this()](boost::system::error_code ec,
                                                           tcp::socket s) {
      if (self->stopped || !self->tcp_acceptor) return;
      if (!ec) {
        boost::system::error_code e2;
        const auto ep = s.remote_endpoint(e2);
        self->admit(std::move(s), false,
                    e2 ? std::string("?") : fmt::format("{}:{}", ep.address().to_string(), ep.port()));
      }
      self->acceptTcp();
    });
  }

  void acceptUnix() {
    unix_acceptor->async_accept([self = shared_from_this()](boost::system::error_code ec,
                                                            unix_socket::socket s) {
      if (self->stopped || !self->unix_acceptor) return;
      if (!ec) self->admit(std::move(s), true, "unix");
      self->acceptUnix();
    });
  }
};

HttpServer::HttpServer(asio::io_context& io, ServerHandler handler, Limits limits)
    : impl_(std::make_shared<Impl>(io, std::move(handler), limits)) {}

HttpServer::~HttpServer() { stop(); }

std::string HttpServer::listenTcp(const std::string& host_port) {
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos) return "'" + host_port + "' is not host:port";
  std::string host = host_port.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return "'" + host + "' is not an IP address";
  int port = 0;
  try {
    port = std::stoi(host_port.substr(colon + 1));
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535) return "'" + host_port + "' has no valid port";
  tcp::acceptor a(impl_->io);
  const tcp::endpoint ep(address, static_cast<unsigned short>(port));
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fmt::format("cannot listen on {}: {}", host_port, ec.message());
  closeOnExec(a.native_handle());
  impl_->tcp_acceptor.emplace(std::move(a));
  impl_->acceptTcp();
  return "";
}

std::string HttpServer::listenUnix(const std::string& path, unsigned mode) {
  namespace fs = std::filesystem;
  std::error_code fec;
  const fs::path dir = fs::path(path).parent_path();
  if (!dir.empty() && !fs::exists(dir, fec)) {
    fs::create_directories(dir, fec);
    if (fec) return fmt::format("cannot create {}: {}", dir.string(), fec.message());
    ::chmod(dir.c_str(), 0750);
  }
  boost::system::error_code ec;
  if (fs::exists(fs::symlink_status(path, fec))) {
    if (!fs::is_socket(fs::symlink_status(path, fec))) {
      return fmt::format("{} exists and is not a socket", path);
    }
    unix_socket::socket probe(impl_->io);
    probe.connect(unix_socket::endpoint(path), ec);
    if (!ec) return fmt::format("{} is in use: another hftguard answers on it", path);
    // Only a socket nobody listens on is left by a process that is gone; any other error
    // (a full backlog, no permission) may be a live daemon's.
    if (ec != boost::asio::error::connection_refused) {
      return fmt::format("{} exists and cannot be checked ({}); remove it if no hftguard runs",
                         path, ec.message());
    }
    fs::remove(path, fec);
  }
  unix_socket::acceptor a(impl_->io);
  a.open(unix_socket(), ec);
  if (!ec) a.bind(unix_socket::endpoint(path), ec);
  if (!ec && ::chmod(path.c_str(), mode) != 0) {
    return fmt::format("cannot set the mode of {}: {}", path, std::strerror(errno));
  }
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fmt::format("cannot listen on {}: {}", path, ec.message());
  closeOnExec(a.native_handle());
  impl_->unix_acceptor.emplace(std::move(a));
  impl_->unix_path = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) impl_->unix_inode = st.st_ino;
  impl_->acceptUnix();
  return "";
}

unsigned short HttpServer::tcpPort() const {
  if (!impl_->tcp_acceptor) return 0;
  boost::system::error_code ec;
  return impl_->tcp_acceptor->local_endpoint(ec).port();
}

void HttpServer::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  boost::system::error_code ignored;
  if (impl_->tcp_acceptor) impl_->tcp_acceptor->close(ignored);
  if (impl_->unix_acceptor) {
    impl_->unix_acceptor->close(ignored);
    // Removed only while it is still the file this server bound (not a successor's).
    struct stat st {};
    if (::stat(impl_->unix_path.c_str(), &st) == 0 && st.st_ino == impl_->unix_inode) {
      std::error_code fec;
      std::filesystem::remove(impl_->unix_path, fec);
    }
  }
  auto open = std::move(impl_->open);
  for (const auto& c : open) c->close();
}

std::optional<std::string> queryParam(const std::string& query, const std::string& key) {
  std::size_t at = 0;
  while (at <= query.size()) {
    const std::size_t amp = std::min(query.find('&', at), query.size());
    const std::string pair = query.substr(at, amp - at);
    const std::size_t eq = pair.find('=');
    const std::string k = pair.substr(0, eq);
    if (k == key) {
      std::string raw = eq == std::string::npos ? "" : pair.substr(eq + 1);
      for (char& c : raw) {
        if (c == '+') c = ' ';
      }
      int n = 0;
      char* decoded = curl_easy_unescape(nullptr, raw.c_str(), static_cast<int>(raw.size()), &n);
      if (decoded == nullptr) return std::nullopt;
      std::string out(decoded, static_cast<std::size_t>(n));
      curl_free(decoded);
      return out;
    }
    at = amp + 1;
  }
  return std::nullopt;
}

}  // namespace hftguard::net

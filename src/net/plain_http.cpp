#include "hftguard/net/plain_http.hpp"

#include <cctype>
#include <cstdlib>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <curl/curl.h>
#include <fmt/format.h>

#include "hftguard/net/quick_connect.hpp"

namespace hftguard::net {
namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

struct PlainHttpRequest::Target {
  std::string host;  // as in the URL, without IPv6 brackets
  std::string port;
  std::optional<tcp::endpoint> numeric;  // a literal address needs no resolver
};

namespace {

constexpr std::size_t kHeaderLimit = 100 * 1024;  // curl's own limit

bool sameName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool hasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// The URL split as curl splits it, so both paths ask for the same resource.
struct UrlParts {
  std::string scheme, host, port, path, query;
  bool user_info = false;
};

std::optional<UrlParts> splitUrl(const std::string& url) {
  CURLU* u = curl_url();
  if (u == nullptr) return std::nullopt;
  UrlParts parts;
  bool ok = curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK;
  auto get = [&](CURLUPart part, std::string& out, unsigned flags) {
    char* v = nullptr;
    if (curl_url_get(u, part, &v, flags) != CURLUE_OK) return false;
    out = v;
    curl_free(v);
    return true;
  };
  std::string ignored;
  ok = ok && get(CURLUPART_SCHEME, parts.scheme, 0) && get(CURLUPART_HOST, parts.host, 0) &&
       get(CURLUPART_PORT, parts.port, CURLU_DEFAULT_PORT) && get(CURLUPART_PATH, parts.path, 0);
  if (ok) {
    get(CURLUPART_QUERY, parts.query, 0);
    parts.user_info = get(CURLUPART_USER, ignored, 0) || get(CURLUPART_PASSWORD, ignored, 0);
  }
  curl_url_cleanup(u);
  if (!ok) return std::nullopt;
  return parts;
}

bool proxyInEnvironment() {
  for (const char* name : {"http_proxy", "all_proxy", "ALL_PROXY"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') return true;
  }
  return false;
}

class CallImpl final : public PlainHttpRequest::Call,
                       public std::enable_shared_from_this<CallImpl> {
 public:
  CallImpl(asio::io_context& io, std::shared_ptr<const PlainHttpRequest> request,
           std::shared_ptr<const PlainHttpRequest::Target> target, std::size_t max_body,
           bool head, HttpClient::Callback done)
      : io_(io),
        socket_(io),
        request_(std::move(request)),
        target_(std::move(target)),
        max_body_(max_body),
        head_(head),
        done_(std::move(done)),
        started_(std::chrono::steady_clock::now()) {}

  void begin() {
    if (target_->numeric) {
      // A connect done at once goes straight on to the write, which always completes from
      // the loop; a failure is posted, so no answer comes from inside send().
      quickConnect(shared_from_this(), socket_, *target_->numeric, Answer::inline_if_connected,
                   [self = shared_from_this()](boost::system::error_code ec) {
                     self->connected(ec);
                   });
      return;
    }
    resolver_.emplace(io_);
    resolver_->async_resolve(
        target_->host, target_->port,
        [self = shared_from_this()](boost::system::error_code ec,
                                    const tcp::resolver::results_type& results) {
          if (self->cancelled_) return;
          if (ec) return self->fail(fmt::format("cannot resolve {}: {}", self->target_->host,
                                                ec.message()));
          asio::async_connect(self->socket_, results,
                              [self](boost::system::error_code ec2, const tcp::endpoint&) {
                                self->connected(ec2);
                              });
        });
  }

  void cancel() override {
    if (cancelled_) return;
    cancelled_ = true;
    if (resolver_) resolver_->cancel();
    reset();
  }

 private:
  void connected(boost::system::error_code ec) {
    if (cancelled_) return;
    if (ec) {
      response_.refused = ec == asio::error::connection_refused;
      return fail(fmt::format("connect to {}:{}: {}", target_->host, target_->port, ec.message()));
    }
    // One write of the whole request: Nagle never holds a first segment, so no NODELAY.
    asio::async_write(socket_, asio::buffer(request_->bytes()),
                      [self = shared_from_this()](boost::system::error_code e, std::size_t) {
                        if (self->cancelled_) return;
                        if (e) return self->fail(fmt::format("sending to {}: {}", self->request_->url(),
                                                             e.message()));
                        self->read();
                      });
  }

  void read() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(max_body_);
    if (head_) parser_->skip(true);
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                       self->answered(ec);
                     });
  }

  void answered(boost::system::error_code ec) {
    if (cancelled_) return;
    if (ec == http::error::body_limit) {
      response_.too_large = true;
      return fail(fmt::format("body larger than {} bytes", max_body_));
    }
    if (ec == http::error::end_of_stream) {
      return fail(fmt::format("{}: connection closed before an answer", request_->url()));
    }
    if (ec) return fail(fmt::format("{}: {}", request_->url(), ec.message()));
    auto& message = parser_->get();
    const unsigned status = message.result_int();
    if (status >= 100 && status < 200 && status != 101) return read();  // interim, as curl
    response_.answered = true;
    response_.status = static_cast<long>(status);
    response_.body = std::move(message.body());
    finish();
  }

  void fail(std::string error) {
    response_.error = std::move(error);
    finish();
  }

  void finish() {
    reset();
    response_.elapsed = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() -
                                                             started_);
    HttpClient::Callback done = std::move(done_);
    done(std::move(response_));
  }

  // A reset, not a FIN: thousands of checks a second leave no TIME_WAIT behind.
  void reset() {
    boost::system::error_code ignored;
    if (socket_.is_open()) socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    socket_.close(ignored);
  }

  asio::io_context& io_;
  tcp::socket socket_;
  std::optional<tcp::resolver> resolver_;
  std::shared_ptr<const PlainHttpRequest> request_;
  std::shared_ptr<const PlainHttpRequest::Target> target_;
  std::size_t max_body_;
  bool head_;
  HttpClient::Callback done_;
  std::chrono::steady_clock::time_point started_;
  boost::beast::flat_buffer buffer_{kHeaderLimit + (1 << 20)};
  std::optional<http::response_parser<http::string_body>> parser_;
  HttpResponse response_;
  bool cancelled_ = false;
};

}  // namespace

std::shared_ptr<const PlainHttpRequest> PlainHttpRequest::prepare(const HttpRequest& r) {
  if (r.connect_only || proxyInEnvironment()) return nullptr;
  if (r.method.empty() || hasLineBreak(r.method) || r.method.find(' ') != std::string::npos) {
    return nullptr;
  }
  const auto url = splitUrl(r.url);
  if (!url || url->scheme != "http" || url->user_info) return nullptr;
  for (const auto& [name, value] : r.headers) {
    if (name.empty() || hasLineBreak(name) || hasLineBreak(value)) return nullptr;
  }

  auto target = std::make_shared<Target>();
  target->host = url->host;
  if (target->host.size() > 2 && target->host.front() == '[' && target->host.back() == ']') {
    target->host = target->host.substr(1, target->host.size() - 2);  // an IPv6 literal
  }
  target->port = url->port;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(target->host, ec);
  unsigned long port = 0;
  try {
    port = std::stoul(url->port);
  } catch (const std::exception&) {
    return nullptr;
  }
  if (port == 0 || port > 65535) return nullptr;
  if (!ec) target->numeric = tcp::endpoint(address, static_cast<unsigned short>(port));

  // What curl sends for the same request: its Host, User-Agent and Accept unless the
  // check sets them, a header with an empty value removed, a body's length, and the form
  // content type curl gives a body without one.
  auto given = [&](std::string_view name) {
    for (const auto& h : r.headers) {
      if (sameName(h.first, name)) return true;
    }
    return false;
  };
  const bool body = !r.body.empty() || r.method == "POST" || r.method == "PUT" ||
                    r.method == "PATCH";
  std::string out = fmt::format("{} {}{}{} HTTP/1.1\r\n", r.method, url->path,
                                url->query.empty() ? "" : "?", url->query);
  if (!given("Host")) {
    out += fmt::format("Host: {}{}\r\n", url->host, url->port == "80" ? "" : ":" + url->port);
  }
  if (!given("User-Agent")) out += "User-Agent: hftguard\r\n";
  if (!given("Accept")) out += "Accept: */*\r\n";
  if (!given("Connection")) out += "Connection: close\r\n";
  for (const auto& [name, value] : r.headers) {
    if (value.empty() || sameName(name, "Content-Length")) continue;
    out += fmt::format("{}: {}\r\n", name, value);
  }
  if (body) {
    if (!given("Content-Type")) out += "Content-Type: application/x-www-form-urlencoded\r\n";
    out += fmt::format("Content-Length: {}\r\n", r.body.size());
  }
  out += "\r\n";
  out += r.body;

  auto prepared = std::make_shared<PlainHttpRequest>();
  prepared->target_ = std::move(target);
  prepared->url_ = r.url;
  prepared->bytes_ = std::move(out);
  prepared->max_body_bytes_ = r.max_body_bytes;
  prepared->head_ = r.method == "HEAD";
  return prepared;
}

std::shared_ptr<PlainHttpRequest::Call> PlainHttpRequest::send(asio::io_context& io,
                                                               HttpClient::Callback done) const {
  auto call = std::make_shared<CallImpl>(io, shared_from_this(), target_, max_body_bytes_, head_,
                                         std::move(done));
  // The exchange starts now, but its callback can only run from the loop: every step
  // below is an asynchronous operation whose handler Asio never invokes inline.
  call->begin();
  return call;
}

}  // namespace hftguard::net

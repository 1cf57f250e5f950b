#include "hftguard/net/http_client.hpp"

#include <cerrno>
#include <map>
#include <mutex>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <curl/curl.h>
#include <fmt/format.h>

namespace hftguard::net {
namespace asio = boost::asio;

namespace {

void globalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Easy handles are reused (curl_easy_reset) rather than created per request: at hundreds
// of requests a second, curl_easy_init/cleanup is a measurable share of the CPU.
class EasyPool {
 public:
  ~EasyPool() {
    for (CURL* e : free_) curl_easy_cleanup(e);
  }
  CURL* take() {
    if (free_.empty()) return curl_easy_init();
    CURL* e = free_.back();
    free_.pop_back();
    return e;
  }
  void give(CURL* e) {
    if (free_.size() >= kMaxFree) {
      curl_easy_cleanup(e);
      return;
    }
    curl_easy_reset(e);
    free_.push_back(e);
  }

 private:
  static constexpr std::size_t kMaxFree = 256;
  std::vector<CURL*> free_;
};

// One transfer: the easy handle and everything it points into.
struct Transfer {
  explicit Transfer(EasyPool& p) : pool(p), easy(p.take()) {}
  ~Transfer() {
    if (easy != nullptr) pool.give(easy);
    if (headers != nullptr) curl_slist_free_all(headers);
  }

  EasyPool& pool;
  HttpClient::RequestId id = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpRequest request;
  HttpResponse response;
  HttpClient::Callback done;
  std::string streamed;  // a stream's bytes not yet handed to on_data
  std::vector<HttpClient::RequestId>* pending = nullptr;  // streams with bytes to hand over
};

// A socket curl asked us to watch. We never own the fd: curl opens and closes it.
struct Watch {
  explicit Watch(asio::io_context& io, int fd) : descriptor(io, fd) {}
  asio::posix::stream_descriptor descriptor;
  int events = 0;  // CURL_POLL_IN / OUT / INOUT
  bool reading = false;
  bool writing = false;
  bool closed = false;
};

std::size_t onBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (t->request.on_data) {  // handed over once curl has returned (Impl::deliver)
    if (t->streamed.empty()) t->pending->push_back(t->id);
    t->streamed.append(data, n);
    return n;
  }
  if (t->response.body.size() + n > t->request.max_body_bytes) {
    t->response.too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->response.body.append(data, n);
  return n;
}

}  // namespace

struct HttpClient::Impl {
  explicit Impl(asio::io_context& context) : io(context), timer(context) {
    globalInit();
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &Impl::onSocket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &Impl::onTimer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
  }

  ~Impl() {
    for (auto& [id, t] : transfers) curl_multi_remove_handle(multi, t->easy);
    transfers.clear();
    for (auto& [fd, w] : watches) close(*w);
    curl_multi_cleanup(multi);
  }

  static void close(Watch& w) {
    w.closed = true;
    boost::system::error_code ignored;
    w.descriptor.cancel(ignored);
    (void)w.descriptor.release();
  }

  static int onSocket(CURL*, curl_socket_t fd, int what, void* self, void*) {
    auto* impl = static_cast<Impl*>(self);
    if (what == CURL_POLL_REMOVE) {
      auto it = impl->watches.find(fd);
      if (it != impl->watches.end()) {
        close(*it->second);
        impl->watches.erase(it);
      }
      return 0;
    }
    auto& w = impl->watches[fd];
    if (!w) w = std::make_shared<Watch>(impl->io, fd);
    w->events = what;
    impl->arm(w, fd);
    return 0;
  }

  void arm(const std::shared_ptr<Watch>& w, int fd) {
    if ((w->events & CURL_POLL_IN) && !w->reading) {
      w->reading = true;
      w->descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                               [this, w, fd](boost::system::error_code ec) {
                                 w->reading = false;
                                 ready(w, fd, ec, CURL_CSELECT_IN);
                               });
    }
    if ((w->events & CURL_POLL_OUT) && !w->writing) {
      w->writing = true;
      w->descriptor.async_wait(asio::posix::stream_descriptor::wait_write,
                               [this, w, fd](boost::system::error_code ec) {
                                 w->writing = false;
                                 ready(w, fd, ec, CURL_CSELECT_OUT);
                               });
    }
  }

  void ready(const std::shared_ptr<Watch>& w, int fd, boost::system::error_code ec, int event) {
    if (w->closed || ec) return;
    int running = 0;
    curl_multi_socket_action(multi, fd, event, &running);
    deliver();
    collect();
    if (!w->closed) arm(w, fd);
  }

  // curl asks for its timer many times per transfer. Each re-arm of an Asio timer can cost
  // a timerfd_settime; a "now" timeout is posted instead, and an unchanged expiry kept.
  static int onTimer(CURLM*, long timeout_ms, void* self) {
    auto* impl = static_cast<Impl*>(self);
    if (timeout_ms < 0) {
      impl->timer.cancel();
      impl->timer_armed = false;
      return 0;
    }
    if (timeout_ms == 0) {
      impl->timer.cancel();
      impl->timer_armed = false;
      if (!impl->timeout_posted) {
        impl->timeout_posted = true;
        asio::post(impl->io, [impl, alive = std::weak_ptr<int>(impl->alive)] {
          if (alive.expired()) return;  // the client is gone
          impl->timeout_posted = false;
          impl->onTimeout();
        });
      }
      return 0;
    }
    const auto expiry = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    if (impl->timer_armed && impl->timer.expiry() <= expiry + std::chrono::milliseconds(1) &&
        impl->timer.expiry() >= expiry - std::chrono::milliseconds(1)) {
      return 0;
    }
    impl->timer_armed = true;
    impl->timer.expires_at(expiry);
    impl->timer.async_wait([impl](boost::system::error_code ec) {
      if (ec) return;
      impl->timer_armed = false;
      impl->onTimeout();
    });
    return 0;
  }

  void onTimeout() {
    int running = 0;
    curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    deliver();
    collect();
  }

  // Streams' bytes that arrived, to their readers, outside curl's callbacks (a reader may
  // send or cancel). A reader that says stop has its transfer withdrawn.
  void deliver() {
    if (pending.empty()) return;
    std::vector<RequestId> ids;
    ids.swap(pending);
    for (RequestId id : ids) {
      auto it = transfers.find(id);
      if (it == transfers.end()) continue;  // cancelled by an earlier reader
      std::string data = std::move(it->second->streamed);
      it->second->streamed.clear();
      auto reader = it->second->request.on_data;  // the transfer may go inside the call
      if (!reader(data)) withdraw(id);
    }
  }

  void withdraw(RequestId id) {
    unsent.erase(id);
    auto it = transfers.find(id);
    if (it == transfers.end()) return;
    curl_multi_remove_handle(multi, it->second->easy);
    transfers.erase(it);
  }

  // Hands finished transfers to their callbacks.
  void collect() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* raw = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &raw);
      const CURLcode code = msg->data.result;
      curl_multi_remove_handle(multi, msg->easy_handle);
      auto it = transfers.find(raw->id);
      if (it == transfers.end()) continue;
      std::unique_ptr<Transfer> t = std::move(it->second);
      transfers.erase(it);
      finish(*t, code);
      t->done(std::move(t->response));
    }
  }

  static void finish(Transfer& t, CURLcode code) {
    double seconds = 0;
    curl_easy_getinfo(t.easy, CURLINFO_TOTAL_TIME, &seconds);
    t.response.elapsed =
        std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
    if (code == CURLE_OK) {
      t.response.answered = true;
      curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &t.response.status);
    } else if (t.response.too_large) {
      t.response.error = fmt::format("body larger than {} bytes", t.request.max_body_bytes);
    } else {
      t.response.error = curl_easy_strerror(code);
      long os_errno = 0;
      curl_easy_getinfo(t.easy, CURLINFO_OS_ERRNO, &os_errno);
      t.response.refused = code == CURLE_COULDNT_CONNECT && os_errno == ECONNREFUSED;
    }
  }

  std::unique_ptr<Transfer> prepare(HttpRequest request, Callback done) {
    auto t = std::make_unique<Transfer>(easy_pool);
    t->id = ++next_id;
    t->pending = &pending;
    t->request = std::move(request);
    t->done = std::move(done);
    CURL* e = t->easy;
    const HttpRequest& r = t->request;
    curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(
        e, CURLOPT_TIMEOUT_MS,
        static_cast<long>(std::chrono::ceil<std::chrono::milliseconds>(r.timeout).count()));
    // Always set: pooled handles must not keep an earlier request's value (0: curl's own).
    curl_easy_setopt(
        e, CURLOPT_CONNECTTIMEOUT_MS,
        static_cast<long>(std::chrono::ceil<std::chrono::milliseconds>(r.connect_timeout).count()));
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, r.tls_verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, r.tls_verify ? 2L : 0L);
    if (!r.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, r.ca_file.c_str());
    if (!r.cert_file.empty()) curl_easy_setopt(e, CURLOPT_SSLCERT, r.cert_file.c_str());
    if (!r.key_file.empty()) curl_easy_setopt(e, CURLOPT_SSLKEY, r.key_file.c_str());
    if (r.connect_only) curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &onBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(e, CURLOPT_USERAGENT, "hftguard");
    if (r.method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (r.method != "GET") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    if (!r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH") {
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(r.body.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.c_str());  // r lives as long as t
    }
    for (const auto& [name, value] : r.headers) {
      t->headers = curl_slist_append(t->headers, (name + ": " + value).c_str());
    }
    // No "Expect: 100-continue" round trip on POST bodies.
    t->headers = curl_slist_append(t->headers, "Expect:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    return t;
  }

  asio::io_context& io;
  EasyPool easy_pool;  // destroyed after the transfers that use it
  asio::steady_timer timer;
  CURLM* multi = nullptr;
  std::shared_ptr<int> alive = std::make_shared<int>(0);
  bool timer_armed = false;
  bool timeout_posted = false;
  RequestId next_id = 0;
  std::map<RequestId, std::unique_ptr<Transfer>> transfers;
  std::map<RequestId, std::unique_ptr<Transfer>> unsent;  // curl refused them; answered soon
  std::map<int, std::shared_ptr<Watch>> watches;
  std::vector<RequestId> pending;  // streams with bytes for their readers (deliver)
};

HttpClient::HttpClient(asio::io_context& io) : impl_(std::make_unique<Impl>(io)) {}
HttpClient::~HttpClient() = default;

HttpClient::RequestId HttpClient::send(HttpRequest request, Callback done) {
  std::unique_ptr<Transfer> t = impl_->prepare(std::move(request), std::move(done));
  const RequestId id = t->id;
  const CURLMcode code = curl_multi_add_handle(impl_->multi, t->easy);
  if (code != CURLM_OK) {
    // Answered on the loop, never from inside send(); cancel() still withdraws it until then.
    impl_->unsent.emplace(id, std::move(t));
    asio::post(impl_->io, [impl = impl_.get(), alive = std::weak_ptr<int>(impl_->alive), id,
                           error = std::string(curl_multi_strerror(code))] {
      if (alive.expired()) return;
      auto it = impl->unsent.find(id);
      if (it == impl->unsent.end()) return;  // cancelled
      std::unique_ptr<Transfer> failed = std::move(it->second);
      impl->unsent.erase(it);
      failed->response.error = error;
      failed->done(std::move(failed->response));
    });
    return id;
  }
  impl_->transfers.emplace(id, std::move(t));
  return id;
}

void HttpClient::cancel(RequestId id) { impl_->withdraw(id); }

std::size_t HttpClient::inFlight() const {
  return impl_->transfers.size() + impl_->unsent.size();
}

}  // namespace hftguard::net

#pragma once
// Plain-HTTP health requests without libcurl: a request prepared once (its bytes built at
// start-up) and sent on the Asio loop as connect, write, read one response, close with a
// reset. At a thousand checks a second curl's per-transfer bookkeeping (handle setup, its
// socket and timer callbacks, a poll() per transfer) cost as much CPU as the checks' own
// TCP work; this path is the HAProxy httpchk's shape. The response is parsed by Beast.
//
// It serves only what it can serve exactly like HttpClient: `http://` URLs without user
// info, no `connect_only`, no proxy in the environment (curl would honour `http_proxy`).
// Everything else (https, TLS options, proxies) goes to HttpClient. There is no timer here:
// the caller cancels at its deadline (the probe scheduler does, for every kind).
// Asio stays out of this header.

#include <memory>
#include <string>

#include "hftguard/net/http_client.hpp"

namespace boost::asio {
class io_context;
}

namespace hftguard::net {

class PlainHttpRequest : public std::enable_shared_from_this<PlainHttpRequest> {
 public:
  // The prepared request, or null when `r` needs HttpClient (the header's list).
  static std::shared_ptr<const PlainHttpRequest> prepare(const HttpRequest& r);

  // One exchange in flight; cancel() closes its socket and its callback is never called.
  class Call {
   public:
    virtual ~Call() = default;
    virtual void cancel() = 0;
  };

  // Starts one exchange; `done` runs later on the loop thread, never inside send(). The
  // response has HttpClient's meaning: answered/status/body, too_large, refused, elapsed.
  std::shared_ptr<Call> send(boost::asio::io_context& io, HttpClient::Callback done) const;

  const std::string& bytes() const { return bytes_; }  // the request as sent
  const std::string& url() const { return url_; }

  struct Target;  // host, port, endpoint: defined where Asio is
  PlainHttpRequest() = default;  // use prepare()

 private:
  std::shared_ptr<const Target> target_;
  std::string url_;
  std::string bytes_;
  std::size_t max_body_bytes_ = 0;
  bool head_ = false;
};

}  // namespace hftguard::net

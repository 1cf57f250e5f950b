#pragma once
// Asynchronous HTTP(S) client: libcurl's multi interface driven by the Asio event loop.
// Many requests in flight on one thread; none blocks another. Used by probes, actions and
// alert channels alike. Asio stays out of this header (pimpl).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hftguard/core/duration.hpp"

namespace boost::asio {
class io_context;
}

namespace hftguard::net {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  Duration timeout = std::chrono::seconds(5);  // whole transfer
  Duration connect_timeout{};                  // TCP (+TLS) connect alone; 0: bounded by timeout
  bool tls_verify = true;
  std::string ca_file;                   // empty: the system's CA store
  std::string cert_file;                 // a client certificate (PEM), with key_file
  std::string key_file;
  std::size_t max_body_bytes = 1 << 20;  // a larger body aborts the transfer
  bool connect_only = false;             // only open the connection: "is it reachable?"
  // A long-lived stream (an etcd watch): the body goes to `on_data` piece by piece as it
  // arrives, on the loop thread and never from inside curl, instead of into the response
  // (max_body_bytes does not apply). Returning false ends the stream: the transfer is
  // withdrawn and its callback never called. `timeout` still bounds the whole transfer.
  std::function<bool(std::string_view)> on_data = {};
};

struct HttpResponse {
  bool answered = false;  // false: no HTTP answer (refused, DNS, TLS, timeout, too large)
  std::string error;      // why, when !answered
  // The target's host answered the TCP connect with a refusal (ECONNREFUSED): nothing
  // listens there. Unlike a timeout or no route, that is evidence the server is not serving.
  bool refused = false;
  long status = 0;
  std::string body;
  bool too_large = false;
  Duration elapsed{};
};

class HttpClient {
 public:
  using Callback = std::function<void(HttpResponse)>;
  using RequestId = std::uint64_t;

  explicit HttpClient(boost::asio::io_context& io);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts the request; `done` runs later on the loop thread, never inside send().
  RequestId send(HttpRequest request, Callback done);
  // Abandons a request; its callback is not called. Unknown or finished ids are ignored.
  void cancel(RequestId id);
  std::size_t inFlight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hftguard::net

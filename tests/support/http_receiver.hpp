#pragma once
// Test support: a local HTTP server standing in for services that cannot run here (Consul,
// and later Slack and PagerDuty). It records every request and answers with a handler,
// one request per connection ("Connection: close").

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hftguard::testing {

struct ReceivedRequest {
  std::string method;
  std::string target;                          // path and query
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

struct Reply {
  int status = 200;  // 0: no answer - the connection is closed without one
  std::string body;
  std::string content_type = "application/json";
};

class HttpReceiver {
 public:
  using Handler = std::function<Reply(const ReceivedRequest&)>;

  explicit HttpReceiver(Handler handler);
  ~HttpReceiver();
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<ReceivedRequest> requests() const;

 private:
  void serve(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  bool stop_ = false;
  mutable std::mutex mu_;
  std::vector<ReceivedRequest> requests_;
  std::thread thread_;
};

}  // namespace hftguard::testing

#include "http_receiver.hpp"

#include <algorithm>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "process.hpp"

namespace hftguard::testing {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

const char* reasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 202:
      return "Accepted";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    default:
      return "Status";
  }
}

}  // namespace

HttpReceiver::HttpReceiver(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = listenOnFreePort(64, port_);
  thread_ = std::thread([this] {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd >= 0) serve(fd);
    }
  });
}

HttpReceiver::~HttpReceiver() {
  stop_ = true;
  thread_.join();
  close(listen_fd_);
}

std::vector<ReceivedRequest> HttpReceiver::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void HttpReceiver::serve(int fd) {
  std::string data;
  char buf[8192];
  std::size_t headerEnd = std::string::npos;
  std::size_t length = 0;
  // Read the head, then Content-Length bytes of body (a second at most).
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 1000) <= 0) break;
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    data.append(buf, static_cast<std::size_t>(n));
    if (headerEnd == std::string::npos &&
        (headerEnd = data.find("\r\n\r\n")) != std::string::npos) {
      const std::string head = lower(data.substr(0, headerEnd));
      const auto cl = head.find("content-length:");
      if (cl != std::string::npos) length = std::stoul(head.substr(cl + 15));
    }
    if (headerEnd != std::string::npos && data.size() >= headerEnd + 4 + length) break;
  }
  ReceivedRequest req;
  if (headerEnd != std::string::npos) {
    const std::string head = data.substr(0, headerEnd);
    const auto lineEnd = head.find("\r\n");
    const std::string first = head.substr(0, lineEnd);
    req.method = first.substr(0, first.find(' '));
    req.target = first.substr(first.find(' ') + 1, first.rfind(' ') - first.find(' ') - 1);
    std::size_t pos = lineEnd + 2;
    while (pos < head.size()) {
      auto end = head.find("\r\n", pos);
      if (end == std::string::npos) end = head.size();
      const std::string line = head.substr(pos, end - pos);
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        req.headers[lower(line.substr(0, colon))] = value;
      }
      pos = end + 2;
    }
    req.body = data.substr(headerEnd + 4, length);
  }
  const Reply reply = handler_(req);
  {
    std::lock_guard lock(mu_);
    requests_.push_back(req);
  }
  if (reply.status == 0) {
    close(fd);
    return;
  }
  const std::string response = "HTTP/1.1 " + std::to_string(reply.status) + " " +
                               reasonPhrase(reply.status) +
                               "\r\nContent-Type: " + reply.content_type +
                               "\r\nContent-Length: " + std::to_string(reply.body.size()) +
                               "\r\nConnection: close\r\n\r\n" + reply.body;
  (void)!write(fd, response.data(), response.size());
  close(fd);
}

}  // namespace hftguard::testing

#include "hftguard/control/client.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

namespace hftguard::control {
namespace {

std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

ClientAnswer callDaemon(const config::ControlApiConfig& api, const std::string& method,
                        const std::string& target, const std::string& body, Duration timeout) {
  ClientAnswer out;
  if (!api.enabled || (api.socket.empty() && api.listen.empty())) {
    out.error = "the config has no control API";
    return out;
  }
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    out.error = "curl_easy_init failed";
    return out;
  }
  std::string url;
  if (!api.socket.empty()) {
    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, api.socket.c_str());
    url = "http://localhost" + target;
  } else {
    url = "http://" + api.listen + target;
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out.body);
  struct curl_slist* headers = nullptr;
  if (method != "GET") {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  std::string token;
  if (api.token) {
    token = api.token->reveal();
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
    curl_easy_setopt(curl, CURLOPT_XOAUTH2_BEARER, token.c_str());
  }
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    out.reached = true;
    out.status = static_cast<int>(status);
  } else if (rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_RECV_ERROR ||
             rc == CURLE_GOT_NOTHING || rc == CURLE_SEND_ERROR) {
    // Connected, then no (whole) answer: a daemon is there and may have acted - never "no
    // daemon" (a command would then do it a second time by itself).
    out.reached = true;
    out.status = 0;
    out.error = fmt::format("the daemon did not answer in time: {}", curl_easy_strerror(rc));
  } else {
    out.error = fmt::format("no daemon answered on {}: {}",
                            api.socket.empty() ? api.listen : "unix:" + api.socket,
                            curl_easy_strerror(rc));
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return out;
}

std::string escapeQuery(const std::string& value) {
  char* e = curl_easy_escape(nullptr, value.c_str(), static_cast<int>(value.size()));
  if (e == nullptr) return {};
  std::string out(e);
  curl_free(e);
  return out;
}

}  // namespace hftguard::control

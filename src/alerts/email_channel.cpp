// E-mail over SMTP with libcurl: smtp:// (STARTTLS required unless `starttls: false`) or
// smtps://, AUTH from the config's username and password (a secret), one message with Date,
// From, To, Subject, Message-ID and a plain-text body. libcurl's SMTP transfer blocks, so it
// runs on the channel's own worker thread, bounded by the attempt's timeout; the result is
// handled back on the loop.
#include <ctime>
#include <random>

#include <curl/curl.h>
#include <fmt/format.h>

#include "hftguard/net/worker_pool.hpp"

#include "channels.hpp"

namespace hftguard::alerts::channels {
namespace {

// "Name <a@b>" -> "<a@b>"; "a@b" -> "<a@b>": the SMTP envelope's form.
std::string envelope(const std::string& address) {
  const auto lt = address.find('<');
  if (lt == std::string::npos) return "<" + address + ">";
  return address.substr(lt, address.find('>', lt) - lt + 1);
}

// RFC 5322 date: "Thu, 26 Nov 2026 03:40:00 +0000".
std::string rfc5322(WallTime at) {
  const std::time_t t = std::chrono::system_clock::to_time_t(at);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string crlf(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

struct Upload {
  std::string data;
  std::size_t at = 0;
};

std::size_t readUpload(char* buf, std::size_t size, std::size_t n, void* user) {
  auto* u = static_cast<Upload*>(user);
  const std::size_t len = std::min(size * n, u->data.size() - u->at);
  std::memcpy(buf, u->data.data() + u->at, len);
  u->at += len;
  return len;
}

struct Message {
  std::string url, from, username, password;
  std::vector<std::string> to;
  bool starttls = true, tls_verify = true;
  long timeout_ms = 0;
  std::string text;
};

// One SMTP transaction; the error (never a password) and whether a retry may help.
std::pair<std::string, bool> deliver(const Message& m) {
  CURL* c = curl_easy_init();
  if (c == nullptr) return {"SMTP: curl_easy_init failed", true};
  Upload up{m.text, 0};
  curl_slist* rcpt = nullptr;
  for (const auto& t : m.to) rcpt = curl_slist_append(rcpt, envelope(t).c_str());
  const std::string from = envelope(m.from);
  curl_easy_setopt(c, CURLOPT_URL, m.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  if (m.starttls && m.url.starts_with("smtp://")) curl_easy_setopt(c, CURLOPT_USE_SSL, CURLUSESSL_ALL);
  if (!m.username.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, m.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, m.password.c_str());
  }
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, &readUpload);
  curl_easy_setopt(c, CURLOPT_READDATA, &up);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, m.timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, m.tls_verify ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, m.tls_verify ? 2L : 0L);
  const CURLcode res = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(c);
  if (res == CURLE_OK) return {{}, false};
  const bool permanent = res == CURLE_LOGIN_DENIED || res == CURLE_USE_SSL_FAILED ||
                         res == CURLE_PEER_FAILED_VERIFICATION ||
                         res == CURLE_UNSUPPORTED_PROTOCOL || (code >= 500 && code < 600);
  return {fmt::format("SMTP: {}{}", curl_easy_strerror(res),
                      code != 0 ? fmt::format(" (server said {})", code) : ""),
          !permanent};
}

class Email final : public Channel {
 public:
  Email(const config::ChannelConfig& c, ChannelEnv& env) : cfg_(c), workers_(env.io, 1) {}

  void send(const Alert& a, Duration timeout, Done done) override {
    const auto& p = cfg_.params;
    Message m;
    m.url = p.str("smtp_url");
    m.from = p.str("from");
    m.to = p.list("to");
    m.starttls = p.flag("starttls");
    m.tls_verify = p.flag("tls_verify");
    if (p.has("username")) m.username = p.str("username");
    if (p.has("password")) m.password = p.secret("password").reveal();
    m.timeout_ms =
        std::max<long>(1, static_cast<long>(
                              std::chrono::ceil<std::chrono::milliseconds>(timeout).count()));
    std::string to;
    for (const auto& t : m.to) to += (to.empty() ? "" : ", ") + t;
    const std::string host = m.from.substr(m.from.find('@') + 1);
    std::string headers = fmt::format(
        "Date: {}\nFrom: {}\nTo: {}\nSubject: [hftguard] {} {}\n"
        "Message-ID: <{}.{:x}@{}>\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n"
        "X-Hftguard-Incident: {}\nX-Hftguard-Severity: {}\n",
        rfc5322(a.at), m.from, to, config::toString(a.severity), a.title,
        a.event_id.empty() ? "alert" : a.event_id, rng_(), host.substr(0, host.find('>')),
        a.incident, config::toString(a.severity));
    m.text = crlf(headers + "\n" + plainText(a));
    workers_.submit([m, done]() -> net::WorkerPool::Continuation {
      auto [error, retry] = deliver(m);
      return [done, error, retry] { done(error, retry); };
    });
  }

 private:
  const config::ChannelConfig& cfg_;
  net::WorkerPool workers_;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace

std::unique_ptr<Channel> makeEmail(const config::ChannelConfig& c, ChannelEnv& env) {
  return std::make_unique<Email>(c, env);
}

}  // namespace hftguard::alerts::channels

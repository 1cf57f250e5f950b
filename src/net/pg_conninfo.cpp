#include "hftguard/net/pg_conninfo.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

namespace hftguard::net {
namespace {

// keyword='value ' with quotes and backslashes escaped, so any value is safe.
std::string kv(std::string_view key, const std::string& value) {
  std::string out = std::string(key) + "='";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "' ";
}

}  // namespace

std::string pgConninfo(const config::Params& p, const std::string& host, std::int64_t port,
                       Duration timeout) {
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
  // connect_timeout is whole seconds (libpq treats < 2 as 2); the others bound a hung server.
  const auto connectSeconds = std::max<long long>(2, (ms + 999) / 1000);
  std::string out = kv("host", host) + kv("port", std::to_string(port)) +
                    kv("dbname", p.str("dbname")) + kv("user", p.str("user")) +
                    kv("sslmode", p.str("sslmode")) +
                    kv("connect_timeout", std::to_string(connectSeconds)) +
                    kv("tcp_user_timeout", std::to_string(ms)) +
                    kv("options", fmt::format("-c statement_timeout={}", ms)) +
                    kv("application_name", "hftguard");
  if (p.has("password")) out += kv("password", p.secret("password").reveal());
  return out;
}

std::string pgError(const std::exception& e) {
  const std::string what = e.what();
  return what.substr(0, what.find('\n'));
}

}  // namespace hftguard::net

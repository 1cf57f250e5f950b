#include "formats.hpp"

#include <algorithm>
#include <charconv>
#include <regex>

#include <fmt/format.h>

namespace hftguard::config::detail {
namespace {

bool matches(std::string_view text, const std::regex& pattern) {
  return std::regex_match(text.begin(), text.end(), pattern);
}

bool hasControl(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

bool isIpv6(std::string_view text) {
  static const std::regex pattern(R"(^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$)");
  // Two colons at least ("::1"): "10.0.0.1:80" is an address and a port.
  return std::count(text.begin(), text.end(), ':') >= 2 && matches(text, pattern);
}

bool isHost(std::string_view text) {
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
    return isIpv6(text.substr(1, text.size() - 2));
  }
  // Labels of letters, digits, '-' and '_' (seen in container names), dot-separated, an
  // optional final dot. Covers IPv4 addresses too.
  static const std::regex name(
      R"(^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$)");
  return isIpv6(text) || (text.size() <= 253 && matches(text, name));
}

bool validPort(std::string_view text) {
  int port = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  return ec == std::errc{} && ptr == text.data() + text.size() && port >= 1 && port <= 65535;
}

std::string hostError(std::string_view text) {
  if (isHost(text)) return {};
  const auto colon = text.rfind(':');
  if (colon != std::string_view::npos && isHost(text.substr(0, colon)) &&
      validPort(text.substr(colon + 1))) {
    return fmt::format("'{}' is host:port; give the host here and the port in its own key", text);
  }
  return fmt::format("'{}' is not a host name or address", text);
}

std::string check(bool ok, std::string_view text, std::string_view what) {
  return ok ? std::string() : fmt::format("'{}' is not {}", text, what);
}

std::string shapeError(Format format, std::string_view text) {
  switch (format) {
    case Format::Text:
    case Format::Name:
      return {};
    case Format::Host:
      return hostError(text);
    case Format::HostOrDir:
      return text.starts_with("/") ? std::string() : hostError(text);
    case Format::HostPort:
      return check(isHostPort(text), text, "host:port");
    case Format::Listen:
      return check(isHostPort(text) || (text.starts_with("unix:/") && text.size() > 6), text,
                   "host:port or unix:/path");
    case Format::TcpOrOff:
      if (text.starts_with("unix:")) {
        return fmt::format("'{}': a unix socket is now its own key: socket: {}", text,
                           text.substr(5));
      }
      return check(text == "off" || isHostPort(text), text, "host:port or off");
    case Format::PathOrOff:
      return check(text == "off" || (text.starts_with("/") && !text.ends_with("/")), text,
                   "an absolute path or off");
    case Format::AbsPath:
      return check(text.starts_with("/") && !text.ends_with("/"), text,
                   "an absolute file path (a relative one would depend on the daemon's "
                   "working directory)");
    case Format::Email: {
      // user@example.com or "Display Name <user@example.com>"
      static const std::regex pattern(
          R"(^([^@\s<>(),;:"]+@[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*|)"
          R"([^<>]*<[^@\s<>(),;:"]+@[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*>)$)");
      return check(matches(text, pattern), text,
                   "an e-mail address (user@example.com or Name <user@example.com>)");
    }
    case Format::SqlName: {
      static const std::regex pattern(R"(^[A-Za-z_][A-Za-z0-9_$]{0,62}$)");
      return check(matches(text, pattern), text, "one SQL identifier (a table name)");
    }
    case Format::KeyPrefix:
      return check(text.starts_with("/"), text, "a key prefix starting with '/'");
    case Format::MimeType: {
      static const std::regex pattern(
          R"(^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+( *;[ -~]*)?$)");
      return check(matches(text, pattern), text, "a media type (type/subtype)");
    }
    case Format::Timestamp: {
      static const std::regex pattern(
          R"(^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)$)");
      return check(matches(text, pattern), text,
                   "an ISO 8601 time with an offset (2026-01-31T22:00:00Z)");
    }
    case Format::DnsZone:
      return check(text == "." || (text.ends_with(".") && isHost(text)), text,
                   "a DNS name with its trailing dot (example.org.)");
    case Format::JsonPointer: {
      static const std::regex pattern(R"(^(/([^~]|~[01])*)+$)");
      return check(matches(text, pattern), text, "a JSON pointer (/status)");
    }
    case Format::HeaderName: {
      static const std::regex pattern(R"(^[!#$%&'*+.^_`|~0-9A-Za-z-]+$)");
      return check(matches(text, pattern), text, "an HTTP header name");
    }
    case Format::EnvName: {
      static const std::regex pattern(R"(^[A-Za-z_][A-Za-z0-9_]*$)");
      return check(matches(text, pattern), text, "an environment variable name");
    }
    case Format::HttpUrl:
      return urlError(text, {"http", "https"});
  }
  return {};
}

}  // namespace

bool isHostPort(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || !validPort(text.substr(colon + 1))) return false;
  const std::string_view host = text.substr(0, colon);
  if (host.starts_with("[")) return isHost(host);  // [::1]:80; a bare ::1:80 is ambiguous
  return isHost(host) && !isIpv6(host);
}

std::string formatError(Format format, std::string_view text) {
  if (format == Format::Text) return {};
  if (text.empty()) return "empty; give a value or leave the key out";
  if (hasControl(text)) return fmt::format("'{}' holds a control character", text);
  if (text.front() == ' ') {
    return fmt::format("'{}' starts with a space", text);
  }
  return shapeError(format, text);
}

std::string urlError(std::string_view text, const std::vector<std::string_view>& schemes) {
  std::string names;
  for (std::string_view s : schemes) names += (names.empty() ? "" : ":// or ") + std::string(s);
  const auto sep = text.find("://");
  const std::string_view scheme = sep == std::string_view::npos ? "" : text.substr(0, sep);
  if (std::find(schemes.begin(), schemes.end(), scheme) == schemes.end()) {
    return fmt::format("expected a URL starting with {}://, got '{}'", names, text);
  }
  if (std::any_of(text.begin(), text.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
    return fmt::format("'{}' holds a space or control character; percent-encode it", text);
  }
  std::string_view authority = text.substr(sep + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  authority = authority.substr(authority.find('@') == std::string_view::npos
                                   ? 0
                                   : authority.rfind('@') + 1);  // user:pass@ is allowed
  const bool bracketed = authority.starts_with("[");
  const bool hasPort = bracketed ? authority.find("]:") != std::string_view::npos
                                 : authority.find(':') != std::string_view::npos;
  if (!(hasPort ? isHostPort(authority) : isHost(authority))) {
    return fmt::format("'{}' has no valid host[:port] after {}://", text, scheme);
  }
  return {};
}

std::string fillPlaceholdersForCheck(std::string_view text) {
  static const std::regex placeholder(R"(\{[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)?\})");
  return std::regex_replace(std::string(text), placeholder, "x");
}

}  // namespace hftguard::config::detail

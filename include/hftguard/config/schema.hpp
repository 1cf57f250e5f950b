#pragma once
// The config's schema as data: every section, every key it accepts, its type, default and
// range. The loader reads nothing that is not declared here, the documentation test checks
// that every declared key is in docs/config.md, and new probe/action/alert kinds are added
// by adding a KindSpec.

#include <string_view>
#include <vector>

namespace hftguard::config {

enum class ValueKind {
  String,      // plain scalar
  Url,         // scalar starting with one of `choices` as scheme ("http", "https")
  Integer,     // whole number, range in min/max
  Number,      // floating point, range in min/max
  Bool,        // true / false
  Duration,    // 250ms, 2s, 5m; range as duration text in min_text/max_text
  Percent,     // 95%; range as percent text
  Enum,        // one of `choices`
  StringList,  // sequence of scalars
  Dict,        // map of scalar to scalar
  SecretRef,   // KEY: ${ENV_VAR}, or KEY_file: /path
  Section,     // nested map, read by the loader with its own SectionSpec
  Sections,    // map of name -> nested map (components, plans, channels, checks)
  List,        // sequence of nested maps (plan steps)
};

// What a string value (or each item of a list, each key of a map) must look like; checked
// at load. Any value but Text must not be empty, and a required value never may.
enum class Format {
  Text,         // free text
  Name,         // any non-empty text without control characters (a user, a symbol)
  Host,         // host name, IPv4 or IPv6 address; not host:port
  HostOrDir,    // Host, or an absolute directory holding a unix socket (libpq's host)
  HostPort,     // host:port
  Listen,       // host:port or unix:/path
  TcpOrOff,     // host:port, or "off"
  PathOrOff,    // an absolute file path, or "off"
  AbsPath,      // an absolute file path
  Email,        // local@domain
  SqlName,      // one SQL identifier (a table)
  KeyPrefix,    // a store key prefix: starts with '/'
  MimeType,     // type/subtype
  Timestamp,    // ISO 8601 / RFC 3339 date and time with an offset
  DnsZone,      // a DNS name with its trailing dot
  JsonPointer,  // RFC 6901: "/a/b"
  HeaderName,   // an HTTP header name (map keys)
  EnvName,      // an environment variable name (map keys)
  HttpUrl,      // an http:// or https:// URL (list items)
};

struct KeySpec {
  std::string_view key;
  ValueKind kind;
  bool required = false;
  // Default as the operator would write it; empty means "no default" (absent stays absent).
  std::string_view default_text = {};
  std::string_view min_text = {};
  std::string_view max_text = {};
  std::vector<std::string_view> choices = {};  // Enum values, or Url schemes
  // Strings that may hold {placeholders} filled in when a plan runs.
  bool templated = false;
  Format format = Format::Text;
};

struct SectionSpec {
  // Where the section sits, as docs/config.md names it: "node", "components.*.checks.*".
  std::string_view path;
  std::vector<KeySpec> keys;
};

// A probe, action or alert-channel kind: the keys it adds to its family's common keys.
struct KindSpec {
  std::string_view family;  // "check", "action", "channel"
  std::string_view type;
  std::string_view default_layer;  // checks only: process, service, business, end_to_end
  std::vector<KeySpec> keys;
};

const std::vector<SectionSpec>& sections();
const SectionSpec& section(std::string_view path);
const std::vector<KindSpec>& kinds();
const KindSpec* findKind(std::string_view family, std::string_view type);
std::vector<std::string_view> kindNames(std::string_view family);

// The names a plan step's templated strings may use, without braces.
const std::vector<std::string_view>& placeholders();

}  // namespace hftguard::config

#include "hftguard/config/schema.hpp"

#include <stdexcept>
#include <string>

namespace hftguard::config {
namespace {

using V = ValueKind;
using F = Format;

KeySpec req(std::string_view key, ValueKind kind) { return {key, kind, true}; }
KeySpec opt(std::string_view key, ValueKind kind, std::string_view def = {}) {
  return {key, kind, false, def};
}
KeySpec ranged(KeySpec spec, std::string_view min, std::string_view max) {
  spec.min_text = min;
  spec.max_text = max;
  return spec;
}
KeySpec oneOf(KeySpec spec, std::vector<std::string_view> choices) {
  spec.kind = V::Enum;
  spec.choices = std::move(choices);
  return spec;
}
KeySpec url(std::string_view key, bool required,
            std::vector<std::string_view> schemes = {"http", "https"}) {
  KeySpec spec = required ? req(key, V::Url) : opt(key, V::Url);
  spec.choices = std::move(schemes);
  return spec;
}
KeySpec templ(KeySpec spec) {
  spec.templated = true;
  return spec;
}
KeySpec as(Format format, KeySpec spec) {
  spec.format = format;
  return spec;
}

std::vector<KeySpec> join(std::vector<KeySpec> a, const std::vector<KeySpec>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

KeySpec port(std::string_view def = {}) {
  return def.empty() ? ranged(req("port", V::Integer), "1", "65535")
                     : ranged(opt("port", V::Integer, def), "1", "65535");
}
KeySpec tlsVerify() { return opt("tls_verify", V::Bool, "true"); }

std::vector<KeySpec> httpClientKeys() {
  return {as(F::HeaderName, opt("headers", V::Dict)), opt("bearer_token", V::SecretRef),
          tlsVerify(), as(F::AbsPath, opt("ca_file", V::String))};
}
std::vector<KeySpec> postgresKeys() {
  return {as(F::HostOrDir, req("host", V::String)),
          port("5432"),
          as(F::Name, opt("dbname", V::String, "postgres")),
          as(F::Name, req("user", V::String)),
          opt("password", V::SecretRef),
          oneOf(opt("sslmode", V::String, "prefer"),
                {"disable", "prefer", "require", "verify-ca", "verify-full"})};
}
std::vector<KeySpec> redisKeys() {
  return {as(F::Host, req("host", V::String)), port("6379"),
          as(F::Name, opt("username", V::String)), opt("password", V::SecretRef),
          ranged(opt("db", V::Integer, "0"), "0", "15")};
}
std::vector<KeySpec> orderKeys() {
  return {url("url", true),
          as(F::Name, opt("symbol", V::String, "TEST")),
          ranged(opt("quantity", V::Integer, "1"), "1", "1000000"),
          oneOf(opt("side", V::String, "BUY"), {"BUY", "SELL"}),
          oneOf(opt("order_type", V::String, "LIMIT"), {"LIMIT", "MARKET"}),
          ranged(opt("price", V::Number, "100"), "0", "1e12")};
}
KeySpec severity(std::string_view def) {
  return oneOf(opt("min_severity", V::String, def), {"info", "warning", "critical"});
}

std::vector<SectionSpec> buildSections() {
  const KeySpec layerInterval = ranged(opt("interval", V::Duration), "10ms", "1h");
  const KeySpec layerTimeout = ranged(opt("timeout", V::Duration), "1ms", "1h");
  const KeySpec enabled = opt("enabled", V::Bool, "true");
  return {
      {"top-level",
       {req("node", V::Section), opt("logging", V::Section), opt("event_log", V::Section),
        opt("probes", V::Section), req("components", V::Sections), opt("system", V::Section),
        opt("plans", V::Sections), opt("alerts", V::Section), opt("coordination", V::Section),
        opt("control_api", V::Section), opt("maintenance", V::Section), opt("drill", V::Section)}},
      {"drill",
       {req("scenarios", V::Sections), as(F::Name, opt("netns", V::String)),
        opt("histories", V::StringList)}},
      {"drill.scenarios.<name>",
       {opt("description", V::String), req("component", V::String), req("inject", V::String),
        opt("restore", V::String), opt("verify", V::String),
        opt("expect_failover", V::Bool, "true"), opt("maintenance", V::Bool, "false"),
        ranged(opt("fault_for", V::Duration), "1ms", "1h"),
        ranged(opt("timeout", V::Duration, "30s"), "1s", "1h"),
        ranged(opt("observe", V::Duration, "3s"), "0", "1h"), opt("mid_failover", V::String),
        ranged(opt("rounds", V::Integer, "1"), "1", "10"),
        oneOf(opt("calm", V::String, "no_trigger"), {"no_trigger", "no_failover"})}},
      {"node",
       {as(F::Name, req("name", V::String)), as(F::Name, opt("site", V::String, "default"))}},
      {"logging",
       {oneOf(opt("level", V::String, "info"),
              {"trace", "debug", "info", "warn", "error", "critical", "off"})}},
      {"event_log",
       {as(F::AbsPath, opt("path", V::String, "/var/log/hftguard/failover_events.json")),
        ranged(opt("queue_limit", V::Integer, "10000"), "1", "1000000")}},
      {"probes",
       {opt("process", V::Section), opt("service", V::Section), opt("business", V::Section),
        opt("end_to_end", V::Section), ranged(opt("jitter", V::Percent, "0%"), "0%", "50%"),
        ranged(opt("fall", V::Integer, "3"), "1", "100"),
        ranged(opt("rise", V::Integer, "2"), "1", "100")}},
      {"probes.<layer>", {layerInterval, layerTimeout}},
      {"components.<name>",
       {opt("description", V::String), oneOf(req("tier", V::String), {"hot", "warm", "cold"}),
        oneOf(opt("automation", V::String), {"full", "semi", "manual"}),
        ranged(req("rto_target", V::Duration), "100ms", "24h"), opt("plan", V::String),
        as(F::Name, opt("primary", V::String)), as(F::Name, opt("standby", V::String)),
        req("checks", V::Sections), opt("standby_checks", V::Sections), opt("members", V::Sections),
        opt("triggers", V::Section),
        ranged(opt("cooldown", V::Duration, "5m"), "0", "24h"),
        ranged(opt("failover_retries", V::Integer, "0"), "0", "10"),
        ranged(opt("failover_retry_backoff", V::Duration, "5s"), "100ms", "1h"), opt("flap_damping", V::Section),
        opt("follow", V::Section), opt("switchover", V::Section), opt("alert_channels", V::StringList),
        ranged(opt("quorum", V::Integer), "1", "100"), opt("self_fence", V::String)}},
      {"components.<name>.switchover",
       {req("plan", V::String), opt("pre_checks", V::String), opt("post_checks", V::String),
        ranged(opt("healthy_within", V::Duration, "30s"), "1s", "10m")}},
      {"components.<name>.follow",
       {oneOf(req("type", V::String), {"sentinel"}),
        as(F::HostPort, req("sentinels", V::StringList)),
        as(F::Name, req("master_name", V::String)), opt("sentinel_password", V::SecretRef),
        ranged(opt("reconnect", V::Duration, "1s"), "10ms", "1m")}},
      {"components.<name>.checks.<name>",
       {req("type", V::Enum),
        oneOf(opt("layer", V::String), {"process", "service", "business", "end_to_end"}),
        layerInterval, layerTimeout, ranged(opt("fall", V::Integer), "1", "100"),
        ranged(opt("rise", V::Integer), "1", "100"), opt("description", V::String),
        opt("informational", V::Bool, "false")}},
      {"components.<name>.triggers",
       {opt("latency", V::Section), opt("error_rate", V::Section), opt("cpu", V::Section),
        opt("memory", V::Section), opt("network_partition", V::Bool, "true"),
        opt("data_corruption", V::Bool, "true")}},
      {"components.<name>.triggers.latency",
       {enabled, ranged(opt("above", V::Duration, "1000ms"), "1ms", "1h"),
        ranged(opt("for", V::Duration, "30s"), "1s", "1h"), opt("check", V::String)}},
      {"components.<name>.triggers.error_rate",
       {enabled, ranged(opt("above", V::Percent, "5%"), "0%", "100%"),
        ranged(opt("window", V::Duration, "1m"), "1s", "1h"),
        ranged(opt("min_samples", V::Integer, "10"), "1", "100000"), opt("check", V::String)}},
      {"components.<name>.triggers.<cpu|memory>",
       {enabled, ranged(opt("above", V::Percent, "95%"), "1%", "100%"),
        ranged(opt("for", V::Duration, "5m"), "1s", "24h"), opt("check", V::String)}},
      {"components.<name>.flap_damping",
       {enabled, ranged(opt("penalty", V::Number, "1000"), "1", "1e6"),
        ranged(opt("suppress_above", V::Number, "2000"), "1", "1e7"),
        ranged(opt("reuse_below", V::Number, "750"), "0", "1e7"),
        ranged(opt("half_life", V::Duration, "15m"), "1s", "24h"),
        ranged(opt("max_suppress", V::Duration, "1h"), "1s", "7d")}},
      {"system",
       {opt("plan", V::String), ranged(opt("min_failed_components", V::Integer, "2"), "2", "1000"),
        ranged(opt("window", V::Duration, "30s"), "1s", "1h")}},
      {"plans.<name>", {opt("description", V::String), req("steps", V::List)}},
      {"plans.<name>.steps[]",
       {as(F::Name, opt("name", V::String)), req("action", V::Enum), opt("description", V::String),
        ranged(opt("timeout", V::Duration, "10s"), "10ms", "10m"),
        ranged(opt("retries", V::Integer, "0"), "0", "20"),
        ranged(opt("backoff", V::Duration, "500ms"), "0", "1m"),
        oneOf(opt("on_failure", V::String, "abort"), {"abort", "continue"})}},
      {"alerts",
       {ranged(opt("queue_limit", V::Integer, "1000"), "1", "100000"),
        ranged(opt("max_in_flight", V::Integer, "4"), "1", "64"),
        ranged(opt("initial_backoff", V::Duration, "1s"), "10ms", "1m"),
        ranged(opt("max_backoff", V::Duration, "30s"), "10ms", "1h"),
        ranged(opt("deadline", V::Duration, "5m"), "1s", "24h"),
        ranged(opt("group_window", V::Duration, "30s"), "0", "1h"), opt("channels", V::Sections)}},
      {"alerts.channels.<name>", {req("type", V::Enum)}},
      {"coordination",
       {oneOf(opt("type", V::String, "local"), {"local", "etcd"}),
        as(F::HttpUrl, opt("endpoints", V::StringList)),
        ranged(opt("lease_ttl", V::Duration, "20s"), "2s", "5m"),
        as(F::KeyPrefix, opt("key_prefix", V::String, "/hftguard/")),
        as(F::Name, opt("cluster", V::String, "hftguard")),
        as(F::Name, opt("username", V::String)), opt("password", V::SecretRef), tlsVerify(),
        as(F::AbsPath, opt("ca_file", V::String)), as(F::AbsPath, opt("cert_file", V::String)),
        as(F::AbsPath, opt("key_file", V::String)),
        ranged(opt("self_fence_after", V::Duration), "1s", "5m")}},
      {"maintenance",
       {as(F::AbsPath, opt("path", V::String, "/var/lib/hftguard/maintenance.json"))}},
      {"control_api",
       {enabled, as(F::TcpOrOff, opt("listen", V::String, "127.0.0.1:9477")),
        as(F::PathOrOff, opt("socket", V::String, "/run/hftguard/control.sock")),
        opt("token", V::SecretRef), opt("allow_remote", V::Bool, "false")}},
  };
}

std::vector<KindSpec> buildKinds() {
  const auto maxLatency = [](std::string_view def) {
    return ranged(opt("max_latency", V::Duration, def), "1ms", "1h");
  };
  std::vector<KindSpec> k;
  // --- checks (probes) ---
  k.push_back({"check",
               "process",
               "process",
               {as(F::Name, opt("executable", V::String)), opt("cmdline", V::StringList),
                as(F::AbsPath, opt("pidfile", V::String)),
                ranged(opt("min_count", V::Integer, "1"), "1", "10000")}});
  k.push_back({"check", "tcp", "process", {as(F::Host, req("host", V::String)), port()}});
  k.push_back(
      {"check", "http", "service",
       join({url("url", true), oneOf(opt("method", V::String, "GET"), {"GET", "HEAD", "POST"}),
             ranged(opt("expect_status", V::Integer, "200"), "100", "599"), maxLatency({}),
             ranged(opt("max_body_bytes", V::Integer, "1048576"), "0", "1073741824"),
             as(F::JsonPointer, opt("json_field", V::String)), opt("json_equals", V::String)},
            httpClientKeys())});
  k.push_back({"check", "postgres", "service",
               join(postgresKeys(),
                    {oneOf(opt("expect_role", V::String, "any"), {"primary", "standby", "any"}),
                     maxLatency("100ms"), ranged(opt("max_lag_bytes", V::Integer), "0", "1e15"),
                     ranged(opt("max_lag", V::Duration), "1ms", "1h"),
                     as(F::SqlName, opt("write_check_table", V::String)),
                     ranged(opt("reconnect_every", V::Integer, "60"), "1", "1000000")})});
  k.push_back(
      {"check", "redis", "service",
       join(redisKeys(), {oneOf(opt("expect_role", V::String, "any"), {"master", "replica", "any"}),
                          maxLatency("10ms"),
                          ranged(opt("max_memory_ratio", V::Percent, "95%"), "1%", "100%"),
                          ranged(opt("reconnect_every", V::Integer, "60"), "1", "1000000")})});
  k.push_back({"check", "redis_key", "business",
               join(redisKeys(),
                    {as(F::Name, req("key", V::String)),
                     oneOf(req("condition", V::String), {"equals", "fresh", "below", "report"}),
                     opt("expect", V::String), ranged(opt("max_age", V::Duration), "1ms", "30d"),
                     opt("max_value", V::Number),
                     oneOf(opt("timestamp_unit", V::String, "s"), {"s", "ms", "us"}),
                     ranged(opt("reconnect_every", V::Integer, "60"), "1", "1000000")})});
  k.push_back({"check", "e2e_order", "end_to_end", join(orderKeys(), httpClientKeys())});
  k.push_back(
      {"check",
       "host",
       "process",
       {as(F::Name, opt("process", V::String)), as(F::AbsPath, opt("pidfile", V::String))}});
  // --- plan actions ---
  const auto tmplStr = [](std::string_view key, bool required) {
    return templ(required ? req(key, V::String) : opt(key, V::String));
  };
  k.push_back({"action",
               "http_check",
               {},
               join({templ(url("url", true)), oneOf(req("expect", V::String), {"up", "down"}),
                     opt("wait_until", V::Bool, "false"),
                     ranged(opt("poll_interval", V::Duration, "200ms"), "10ms", "1m"),
                     ranged(opt("expect_status", V::Integer, "200"), "100", "599")},
                    httpClientKeys())});
  k.push_back(
      {"action",
       "http_request",
       {},
       join({templ(url("url", true)),
             oneOf(opt("method", V::String, "POST"), {"GET", "POST", "PUT", "PATCH", "DELETE"}),
             tmplStr("body", false), templ(opt("form", V::Dict)),
             as(F::MimeType, opt("content_type", V::String, "application/json")),
             ranged(opt("expect_status", V::Integer, "200"), "100", "599")},
            httpClientKeys())});
  k.push_back({"action",
               "haproxy",
               {},
               {req("socket", V::String), as(F::Name, tmplStr("backend", true)),
                as(F::Name, tmplStr("server", true)),
                oneOf(opt("state", V::String), {"ready", "drain", "maint"}),
                ranged(opt("weight", V::Integer), "0", "256")}});
  const std::vector<KeySpec> kvKeys = {oneOf(req("store", V::String), {"etcd", "consul"}),
                                       as(F::HttpUrl, req("endpoints", V::StringList)),
                                       as(F::Name, tmplStr("key", true)),
                                       tmplStr("prev_value", false),
                                       tmplStr("epoch", false),
                                       as(F::Name, tmplStr("epoch_key", false)),
                                       opt("token", V::SecretRef),
                                       tlsVerify()};
  k.push_back({"action", "kv_put", {}, join(kvKeys, {tmplStr("value", true)})});
  k.push_back({"action", "kv_delete", {}, kvKeys});
  k.push_back({"action",
               "redis_set",
               {},
               join(redisKeys(), {as(F::Name, tmplStr("key", true)), tmplStr("value", true),
                                  opt("verify", V::Bool, "true")})});
  {
    auto keys = join(orderKeys(), httpClientKeys());
    keys.front() = templ(keys.front());  // the url: {new_primary.api} after a failover
    k.push_back({"action", "e2e_order", {}, keys});
  }
  k.push_back(
      {"action",
       "pg_promote",
       {},
       join(postgresKeys(), {ranged(opt("max_lag_bytes", V::Integer, "16777216"), "0", "1e15"),
                             as(F::HostOrDir, opt("old_primary_host", V::String)),
                             ranged(opt("old_primary_port", V::Integer, "5432"), "1", "65535"),
                             as(F::SqlName, opt("write_check_table", V::String)),
                             opt("allow_unfenced", V::Bool, "false"),
                             ranged(opt("max_staleness", V::Duration, "45s"), "100ms", "1d")})});
  k.push_back(
      {"action",
       "pg_final_sync",
       {},
       join(postgresKeys(), {as(F::HostOrDir, req("old_primary_host", V::String)),
                             ranged(opt("old_primary_port", V::Integer, "5432"), "1", "65535"),
                             ranged(opt("rounds", V::Integer, "3"), "1", "20"),
                             ranged(opt("quiet_for", V::Duration, "200ms"), "0", "10s")})});
  k.push_back(
      {"action",
       "patroni",
       {},
       join({as(F::HttpUrl, req("urls", V::StringList)),
             oneOf(req("operation", V::String), {"failover", "switchover"}),
             as(F::Name, tmplStr("candidate", false)), as(F::Name, tmplStr("leader", false)),
             as(F::Timestamp, opt("scheduled_at", V::String)),
             ranged(opt("max_lag_bytes", V::Integer, "16777216"), "0", "1e15"),
             ranged(opt("poll_interval", V::Duration, "100ms"), "10ms", "10s"),
             as(F::Name, opt("api_username", V::String)), opt("api_password", V::SecretRef),
             as(F::Name, opt("dbname", V::String, "postgres")), as(F::Name, req("user", V::String)),
             opt("password", V::SecretRef),
             oneOf(opt("sslmode", V::String, "prefer"),
                   {"disable", "prefer", "require", "verify-ca", "verify-full"}),
             as(F::SqlName, opt("write_check_table", V::String)),
             opt("allow_unfenced", V::Bool, "false")},
            httpClientKeys())});
  k.push_back(
      {"action",
       "redis_sentinel",
       {},
       {as(F::HostPort, req("sentinels", V::StringList)),
        as(F::Name, req("master_name", V::String)), opt("trigger_failover", V::Bool, "false"),
        opt("demote_old_master", V::Bool, "true"), opt("password", V::SecretRef),
        opt("sentinel_password", V::SecretRef)}});
  k.push_back(
      {"action",
       "dns",
       {},
       {url("api_url", true), as(F::Name, opt("server_id", V::String, "localhost")),
        as(F::DnsZone, req("zone", V::String)), as(F::DnsZone, tmplStr("record", true)),
        oneOf(opt("record_type", V::String, "A"), {"A", "AAAA", "CNAME"}),
        as(F::Name, tmplStr("content", true)), ranged(opt("ttl", V::Integer, "30"), "1", "86400"),
        req("api_key", V::SecretRef), tlsVerify()}});
  k.push_back(
      {"action",
       "fence",
       {},
       {as(F::Name, tmplStr("target", false)), as(F::Listen, opt("haproxy_socket", V::String)),
        as(F::Name, tmplStr("haproxy_backend", false)),
        as(F::Name, tmplStr("haproxy_server", false)),
        oneOf(opt("kv_store", V::String), {"etcd", "consul"}),
        as(F::HttpUrl, opt("kv_endpoints", V::StringList)),
        [] {
          KeySpec key = as(F::Name, templ(opt("kv_key", V::String)));
          key.default_text = "nodes/{old_primary}/fenced";
          return key;
        }(),
        opt("kv_token", V::SecretRef), templ(url("stop_url", false)),
        templ(opt("stop_argv", V::StringList)), tlsVerify()}});
  k.push_back({"action",
               "exec",
               {},
               {templ(req("argv", V::StringList)), as(F::EnvName, templ(opt("env", V::Dict))),
                ranged(opt("expect_exit", V::Integer, "0"), "0", "255")}});
  // --- alert channels ---
  k.push_back(
      {"channel",
       "slack",
       {},
       {req("webhook_url", V::SecretRef), as(F::Name, opt("channel", V::String)),
        as(F::Name, opt("username", V::String, "hftguard")), severity("info"), tlsVerify()}});
  k.push_back({"channel",
               "pagerduty",
               {},
               {req("routing_key", V::SecretRef),
                [] {
                  KeySpec u = url("url", false);
                  u.default_text = "https://events.pagerduty.com/v2/enqueue";
                  return u;
                }(),
                as(F::Name, opt("source", V::String)), severity("critical"), tlsVerify()}});
  k.push_back({"channel",
               "email",
               {},
               {url("smtp_url", true, {"smtp", "smtps"}), as(F::Email, req("from", V::String)),
                as(F::Email, req("to", V::StringList)), as(F::Name, opt("username", V::String)),
                opt("password", V::SecretRef), opt("starttls", V::Bool, "true"),
                severity("warning"), tlsVerify()}});
  return k;
}

}  // namespace

const std::vector<SectionSpec>& sections() {
  static const std::vector<SectionSpec> all = buildSections();
  return all;
}

const SectionSpec& section(std::string_view path) {
  for (const SectionSpec& s : sections()) {
    if (s.path == path) return s;
  }
  throw std::logic_error("no config section " + std::string(path));
}

const std::vector<KindSpec>& kinds() {
  static const std::vector<KindSpec> all = buildKinds();
  return all;
}

const KindSpec* findKind(std::string_view family, std::string_view type) {
  for (const KindSpec& k : kinds()) {
    if (k.family == family && k.type == type) return &k;
  }
  return nullptr;
}

std::vector<std::string_view> kindNames(std::string_view family) {
  std::vector<std::string_view> names;
  for (const KindSpec& k : kinds()) {
    if (k.family == family) names.push_back(k.type);
  }
  return names;
}

const std::vector<std::string_view>& placeholders() {
  static const std::vector<std::string_view> names = {
      "component", "node", "old_primary", "new_primary", "fencing_token", "timestamp", "reason", "epoch"};
  return names;
}

}  // namespace hftguard::config

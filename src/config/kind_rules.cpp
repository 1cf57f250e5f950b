#include "kind_rules.hpp"

#include <functional>
#include <map>

#include <fmt/format.h>

#include "formats.hpp"

namespace hftguard::config::detail {
namespace {

using Rule = std::function<void(ReaderContext&, const SectionValues&, const std::string&)>;

void exactlyOne(ReaderContext& ctx, const SectionValues& v, const std::string& where,
                std::initializer_list<std::string_view> keys) {
  std::string names;
  int count = 0;
  const YAML::Mark* second = nullptr;
  for (std::string_view k : keys) {
    names += (names.empty() ? "" : ", ") + std::string(k);
    if (v.present(k) && ++count == 2) second = &v.markOf(k);
  }
  if (count == 0) {
    ctx.diag.error(v.owner, fmt::format("{}: set one of {}", where, names));
  } else if (count > 1) {
    ctx.diag.error(*second, fmt::format("{}: set only one of {}", where, names));
  }
}

void needKey(ReaderContext& ctx, const SectionValues& v, const std::string& where,
             std::string_view key, std::string_view because) {
  if (!v.present(key)) {
    ctx.diag.error(v.owner, fmt::format("{}: missing required key '{}' ({})", where, key, because));
  }
}

// The epoch compare is a transaction on a second key: etcd's, not Consul's (yet).
void kvEpochRules(ReaderContext& ctx, const SectionValues& v, const std::string& where) {
  if (v.present("epoch_key") && !v.present("epoch")) {
    ctx.diag.error(v.markOf("epoch_key"), fmt::format("{}: epoch_key needs epoch", where));
  }
  if (v.present("epoch") && v.params.has("store") && v.params.str("store") != "etcd") {
    ctx.diag.error(v.markOf("epoch"),
                   fmt::format("{}: epoch needs store: etcd (Consul has no epoch compare here)",
                               where));
  }
}

const std::map<std::string, Rule, std::less<>>& rules() {
  static const std::map<std::string, Rule, std::less<>> table = {
      {"check/process",
       [](auto& ctx, auto& v, auto& where) {
         exactlyOne(ctx, v, where, {"executable", "cmdline", "pidfile"});
         if (v.params.has("cmdline") && v.params.list("cmdline").empty()) {
           ctx.diag.error(v.markOf("cmdline"),
                          fmt::format("{}: cmdline is empty; list at least the program", where));
         }
       }},
      {"check/redis_key",
       [](auto& ctx, auto& v, auto& where) {
         if (!v.params.has("condition")) return;
         const std::string& c = v.params.str("condition");
         if (c == "equals") needKey(ctx, v, where, "expect", "condition equals");
         if (c == "fresh") needKey(ctx, v, where, "max_age", "condition fresh");
         if (c == "below") needKey(ctx, v, where, "max_value", "condition below");
       }},
      {"check/http",
       [](auto& ctx, auto& v, auto& where) {
         if (v.present("json_equals") && !v.present("json_field")) {
           ctx.diag.error(v.markOf("json_equals"),
                          fmt::format("{}: json_equals needs json_field", where));
         }
       }},
      {"action/haproxy",
       [](auto& ctx, auto& v, auto& where) {
         if (!v.present("state") && !v.present("weight")) {
           ctx.diag.error(v.owner, fmt::format("{}: set state, weight or both", where));
         }
         if (v.params.has("socket")) {
           const std::string& s = v.params.str("socket");
           if (!(s.starts_with("unix:/") || isHostPort(s))) {
             ctx.diag.error(v.markOf("socket"),
                            fmt::format("socket: '{}' is neither unix:/path nor host:port", s));
           }
         }
       }},
      {"action/patroni",
       [](auto& ctx, auto& v, auto& where) {
         if (v.present("scheduled_at") && v.params.has("operation") &&
             v.params.str("operation") == "failover") {
           ctx.diag.error(v.markOf("scheduled_at"),
                          fmt::format("{}: only a switchover can be scheduled", where));
         }
         if (v.present("api_password")) {
           needKey(ctx, v, where, "api_username", "api_password is set");
         }
       }},
      {"action/fence",
       [](auto& ctx, auto& v, auto& where) {
         if (!v.present("haproxy_socket") && !v.present("kv_store") && !v.present("stop_url") &&
             !v.present("stop_argv")) {
           ctx.diag.error(v.owner, fmt::format("{}: a fence needs at least one of haproxy_socket, "
                                               "kv_store, stop_url, stop_argv",
                                               where));
         }
         if (v.present("haproxy_socket")) {
           needKey(ctx, v, where, "haproxy_backend", "haproxy_socket is set");
           needKey(ctx, v, where, "haproxy_server", "haproxy_socket is set");
         }
         if (v.present("kv_store")) needKey(ctx, v, where, "kv_endpoints", "kv_store is set");
         if (v.present("stop_url") && v.present("stop_argv")) {
           ctx.diag.error(v.markOf("stop_argv"),
                          fmt::format("{}: set stop_url or stop_argv, not both", where));
         }
       }},
      {"action/exec",
       [](auto& ctx, auto& v, auto& where) {
         if (v.params.has("argv") && v.params.list("argv").empty()) {
           ctx.diag.error(v.markOf("argv"), fmt::format("{}: argv is empty", where));
         } else if (v.params.has("argv") && !v.params.list("argv").front().starts_with("/")) {
           ctx.diag.error(v.markOf("argv"),
                          "argv: the program must be an absolute path (no $PATH lookup)");
         }
       }},
      {"action/kv_put", kvEpochRules},
      {"action/kv_delete", kvEpochRules},
      {"channel/email",
       [](auto& ctx, auto& v, auto& where) {
         if (v.params.has("password") && !v.params.has("username")) {
           ctx.diag.error(v.markOf("password"), fmt::format("{}: password needs username", where));
         }
       }},
  };
  return table;
}

}  // namespace

void checkKindRules(ReaderContext& ctx, std::string_view family, std::string_view type,
                    const SectionValues& values, const std::string& where) {
  auto it = rules().find(fmt::format("{}/{}", family, type));
  if (it != rules().end()) it->second(ctx, values, where);
}

bool isLocalListenAddress(const std::string& listen) {
  if (listen.starts_with("unix:/")) return true;
  return listen.starts_with("127.") || listen.starts_with("[::1]:") ||
         listen.starts_with("localhost:");
}

}  // namespace hftguard::config::detail

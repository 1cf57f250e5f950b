#include "hftguard/coord/etcd_client.hpp"

#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hftguard/core/base64.hpp"
#include "hftguard/net/http_client.hpp"

namespace hftguard::coord {
namespace {

using json = nlohmann::json;

// etcd writes 64-bit numbers as strings; an absent one is 0.
std::int64_t number(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return 0;
  const json& v = j.at(key);
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_string()) return std::stoll(v.get<std::string>());
  throw std::invalid_argument(fmt::format("{} is not a number", key));
}

std::string decoded(const json& j, const char* key) {
  if (!j.contains(key)) return {};
  auto v = base64Decode(j.at(key).get<std::string>());
  if (!v) throw std::invalid_argument(fmt::format("{} is not base64", key));
  return *v;
}

std::vector<KeyValue> kvsOf(const json& range) {
  std::vector<KeyValue> out;
  if (!range.contains("kvs")) return out;
  for (const json& kv : range.at("kvs")) {
    out.push_back({decoded(kv, "key"), decoded(kv, "value"), number(kv, "create_revision"),
                   number(kv, "mod_revision"), number(kv, "lease")});
  }
  return out;
}

json operationJson(const Operation& op) {
  json r = {{"key", base64Encode(op.key)}};
  switch (op.kind) {
    case Operation::Kind::Put:
      r["value"] = base64Encode(op.value);
      if (op.lease != 0) r["lease"] = std::to_string(op.lease);
      return {{"request_put", r}};
    case Operation::Kind::Delete:
      if (op.prefix) r["range_end"] = base64Encode(prefixEnd(op.key));
      return {{"request_delete_range", r}};
    case Operation::Kind::Range:
      if (op.prefix) r["range_end"] = base64Encode(prefixEnd(op.key));
      return {{"request_range", r}};
  }
  return r;
}

json compareJson(const Compare& c) {
  json r = {{"key", base64Encode(c.key)}, {"result", "EQUAL"}};
  switch (c.target) {
    case Compare::Target::CreateRevision:
      r["target"] = "CREATE";
      r["create_revision"] = std::to_string(c.number);
      break;
    case Compare::Target::ModRevision:
      r["target"] = "MOD";
      r["mod_revision"] = std::to_string(c.number);
      break;
    case Compare::Target::Value:
      r["target"] = "VALUE";
      r["value"] = base64Encode(c.value);
      break;
    case Compare::Target::Lease:
      r["target"] = "LEASE";
      r["lease"] = std::to_string(c.number);
      break;
  }
  return r;
}

// etcd's (or a proxy's) "error", when it is a string; anything else is no message.
std::string errorOf(const json& j) {
  if (!j.is_object()) return {};
  auto it = j.find("error");
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

EtcdResult failed(std::string error) {
  EtcdResult r;
  r.error = std::move(error);
  return r;
}

}  // namespace

std::string prefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

struct EtcdClient::Impl : std::enable_shared_from_this<Impl> {
  Impl(net::HttpClient& h, EtcdOptions o) : http(h), options(std::move(o)) {}

  using Then = std::function<void(const json&)>;
  using Fail = std::function<void(std::string)>;

  net::HttpRequest request(const std::string& path, const json& body) const {
    net::HttpRequest r;
    r.method = "POST";
    r.url = options.endpoints.at(endpoint) + path;
    r.body = body.dump();
    r.headers.emplace_back("Content-Type", "application/json");
    if (!token.empty()) r.headers.emplace_back("Authorization", token);
    r.timeout = options.timeout;
    r.tls_verify = options.tls_verify;
    r.ca_file = options.ca_file;
    r.cert_file = options.cert_file;
    r.key_file = options.key_file;
    r.max_body_bytes = 4 << 20;
    return r;
  }

  // Sends to the current endpoint; no answer tries the others once each; an expired token
  // is renewed once. `then` gets etcd's JSON answer.
  void call(const std::string& path, json body, Then then, Fail fail, std::size_t tries = 0,
            bool authed = false) {
    if (!options.username.empty() && token.empty() && !authed) {
      return authenticate([self = shared_from_this(), path, body, then, fail, tries] {
        self->call(path, body, then, fail, tries, true);
      }, fail, tries);
    }
    send(request(path, body), [self = shared_from_this(), path, body, then, fail, tries,
                               authed](const net::HttpResponse& r) {
      if (!r.answered) {
        if (tries + 1 < self->options.endpoints.size()) {
          self->endpoint = (self->endpoint + 1) % self->options.endpoints.size();
          return self->call(path, body, then, fail, tries + 1, authed);
        }
        return fail("etcd: " + r.error);
      }
      const json j = json::parse(r.body, nullptr, false);
      const std::string error = errorOf(j);
      if (!authed && !self->options.username.empty() &&
          (r.status == 401 || error.find("auth token") != std::string::npos)) {
        self->token.clear();
        return self->call(path, body, then, fail, tries, false);
      }
      if (r.status != 200 || !j.is_object()) {
        return fail(fmt::format("etcd {}: HTTP {}: {}", path, r.status, r.body.substr(0, 200)));
      }
      try {
        then(j);
      } catch (const std::exception& e) {  // an answer not shaped as etcd's
        fail(fmt::format("etcd {}: malformed answer: {}", path, e.what()));
      }
    });
  }

  // At the current endpoint; one that does not answer passes to the next, as a call does
  // (`tries` counts the endpoints the call has tried already).
  void authenticate(std::function<void()> then, Fail fail, std::size_t tries) {
    json body = {{"name", options.username},
                 {"password", options.password ? options.password->reveal() : ""}};
    send(request("/v3/auth/authenticate", body),
         [self = shared_from_this(), then, fail, tries](const net::HttpResponse& r) {
           if (!r.answered && tries + 1 < self->options.endpoints.size()) {
             self->endpoint = (self->endpoint + 1) % self->options.endpoints.size();
             return self->authenticate(then, fail, tries + 1);
           }
           const json j = json::parse(r.body, nullptr, false);
           const bool ok = r.answered && r.status == 200 && j.is_object() &&
                           j.contains("token") && j.at("token").is_string();
           if (!ok) {
             // Never the password; etcd's own message says what was wrong.
             const std::string error = errorOf(j);
             return fail(fmt::format(
                 "etcd: authentication as {} failed: {}", self->options.username,
                 !r.answered        ? r.error
                 : !error.empty()   ? error
                                    : "HTTP " + std::to_string(r.status)));
           }
           self->token = j.at("token").get<std::string>();
           then();
         });
  }

  void send(net::HttpRequest r, std::function<void(const net::HttpResponse&)> done) {
    auto id = std::make_shared<net::HttpClient::RequestId>();
    *id = http.send(std::move(r), [self = shared_from_this(), id, done](net::HttpResponse resp) {
      self->inflight.erase(*id);
      done(resp);
    });
    inflight.insert(*id);
  }

  // ---- watch streams ----
  struct Stream {
    std::string buffer;  // a line not complete yet
    std::function<void(WatchUpdate)> changes;
    std::function<void(std::string)> ended;
    bool over = false;
    bool created = false;  // etcd answered the create request: the stream runs
    std::optional<net::HttpClient::RequestId> request;
  };

  void watch(std::uint64_t id, std::string prefix, std::int64_t revision, Duration span,
             std::size_t tries = 0) {
    if (!options.username.empty() && token.empty()) {
      return authenticate(
          [self = shared_from_this(), id, prefix, revision, span, tries] {
            self->openWatch(id, prefix, revision, span, tries);
          },
          [self = shared_from_this(), id](std::string e) { self->endWatch(id, std::move(e)); },
          tries);
    }
    openWatch(id, std::move(prefix), revision, span, tries);
  }

  void openWatch(std::uint64_t id, const std::string& prefix, std::int64_t revision,
                 Duration span, std::size_t tries) {
    if (!streams.count(id)) return;  // stopped meanwhile
    json create = {{"key", base64Encode(prefix)},
                   {"range_end", base64Encode(prefixEnd(prefix))},
                   {"start_revision", std::to_string(revision)}};
    net::HttpRequest r = request("/v3/watch", json{{"create_request", create}});
    r.timeout = span;
    r.connect_timeout = options.timeout;
    r.on_data = [weak = weak_from_this(), id](std::string_view data) {
      auto self = weak.lock();
      return self && self->onStream(id, data);
    };
    const auto rid = http.send(std::move(r), [self = shared_from_this(), id, prefix, revision,
                                              span, tries](const net::HttpResponse& resp) {
      auto it = self->streams.find(id);
      if (it == self->streams.end()) return;
      it->second.request.reset();
      if (!resp.answered && it->second.created && resp.error == "Timeout was reached") {
        return self->endWatch(id, "");  // its span is over: the normal end
      }
      if (!resp.answered && !it->second.created) {
        if (tries + 1 < self->options.endpoints.size()) {
          self->endpoint = (self->endpoint + 1) % self->options.endpoints.size();
          return self->watch(id, prefix, revision, span, tries + 1);
        }
        return self->endWatch(id, "etcd watch: " + resp.error);
      }
      if (resp.status == 401) self->token.clear();  // the next call authenticates again
      self->endWatch(id, !resp.answered       ? "etcd watch: " + resp.error
                         : resp.status == 200 ? "etcd watch: the stream ended"
                                              : fmt::format("etcd watch: HTTP {}", resp.status));
    });
    if (auto it = streams.find(id); it != streams.end()) it->second.request = rid;
  }

  // A piece of the stream: every complete line is one of etcd's answers. False: stop.
  bool onStream(std::uint64_t id, std::string_view data) {
    auto it = streams.find(id);
    if (it == streams.end() || it->second.over) return false;
    Stream& s = it->second;
    s.buffer.append(data);
    if (s.buffer.size() > (8u << 20)) return endWatch(id, "etcd watch: an answer over 8 MiB"), false;
    for (auto nl = s.buffer.find('\n'); nl != std::string::npos; nl = s.buffer.find('\n')) {
      const std::string line = s.buffer.substr(0, nl);
      s.buffer.erase(0, nl + 1);
      if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
      std::string why;
      std::optional<WatchUpdate> update;
      try {
        update = parseWatch(json::parse(line), why);
      } catch (const std::exception& e) {
        why = fmt::format("etcd watch: malformed answer: {}", e.what());
      }
      if (!why.empty()) {
        if (why.find("auth token") != std::string::npos) token.clear();
        endWatch(id, why);
        return false;
      }
      s.created = true;
      auto changes = s.changes;  // the reader may stop the watch inside the call
      if (update) changes(std::move(*update));
      it = streams.find(id);
      if (it == streams.end() || it->second.over) return false;
    }
    return true;
  }

  // One line of the stream: an update, nothing (created), or why the stream is over.
  static std::optional<WatchUpdate> parseWatch(const json& j, std::string& why) {
    if (!j.is_object()) throw std::invalid_argument("not an object");
    if (j.contains("error")) {
      const json& e = j.at("error");
      why = "etcd watch: " + (e.is_object() ? e.value("message", e.dump()) : e.dump());
      return std::nullopt;
    }
    const json& r = j.at("result");
    if (r.value("canceled", false)) {  // (etcd's header then has no revision)
      const std::int64_t compacted = number(r, "compact_revision");
      why = compacted > 0 ? fmt::format("compacted: etcd keeps revisions from {} on", compacted)
                          : "etcd watch: canceled: " + r.value("cancel_reason", std::string("?"));
      return std::nullopt;
    }
    WatchUpdate u;
    u.revision = number(r.value("header", json::object()), "revision");
    if (u.revision <= 0) throw std::invalid_argument("no header revision");
    if (r.contains("events")) {
      for (const json& e : r.at("events")) {
        const json& kv = e.at("kv");
        u.events.push_back({e.value("type", std::string("PUT")) == "DELETE",
                            {decoded(kv, "key"), decoded(kv, "value"),
                             number(kv, "create_revision"), number(kv, "mod_revision"),
                             number(kv, "lease")}});
      }
    }
    return u;
  }

  void endWatch(std::uint64_t id, std::string why) {
    auto it = streams.find(id);
    if (it == streams.end() || it->second.over) return;
    it->second.over = true;
    auto ended = std::move(it->second.ended);
    if (it->second.request) http.cancel(*it->second.request);
    streams.erase(it);
    ended(std::move(why));
  }

  net::HttpClient& http;
  EtcdOptions options;
  std::size_t endpoint = 0;
  std::string token;
  std::set<net::HttpClient::RequestId> inflight;
  std::map<std::uint64_t, Stream> streams;
  std::uint64_t next_stream = 0;
};

EtcdClient::EtcdClient(net::HttpClient& http, EtcdOptions options)
    : impl_(std::make_shared<Impl>(http, std::move(options))) {}

EtcdClient::~EtcdClient() { cancelAll(); }

void EtcdClient::cancelAll() {
  for (auto id : impl_->inflight) impl_->http.cancel(id);
  impl_->inflight.clear();
  for (auto& [id, s] : impl_->streams) {
    if (s.request) impl_->http.cancel(*s.request);
  }
  impl_->streams.clear();
}

std::uint64_t EtcdClient::watch(std::string prefix, std::int64_t revision, Duration span,
                                std::function<void(WatchUpdate)> changes,
                                std::function<void(std::string)> ended) {
  const std::uint64_t id = ++impl_->next_stream;
  impl_->streams[id] = {{}, std::move(changes), std::move(ended), false, false, std::nullopt};
  impl_->watch(id, std::move(prefix), revision, span);
  return id;
}

void EtcdClient::stopWatch(std::uint64_t id) {
  auto it = impl_->streams.find(id);
  if (it == impl_->streams.end()) return;
  if (it->second.request) impl_->http.cancel(*it->second.request);
  impl_->streams.erase(it);
}

void EtcdClient::grant(Duration ttl, std::function<void(std::int64_t, std::string)> done) {
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(ttl).count();
  impl_->call(
      "/v3/lease/grant", json{{"TTL", std::to_string(secs)}},
      [done](const json& j) {
        if (const std::string e = errorOf(j); !e.empty()) return done(0, "etcd lease grant: " + e);
        const std::int64_t id = number(j, "ID");
        done(id, id == 0 ? "etcd lease grant: no lease id" : "");
      },
      [done](std::string e) { done(0, std::move(e)); });
}

void EtcdClient::keepAlive(std::int64_t lease, std::function<void(Duration, std::string)> done) {
  impl_->call(
      "/v3/lease/keepalive", json{{"ID", std::to_string(lease)}},
      [done](const json& j) {
        const json& r = j.contains("result") ? j.at("result") : j;
        done(std::chrono::seconds(number(r, "TTL")), "");
      },
      [done](std::string e) { done(Duration::zero(), std::move(e)); });
}

void EtcdClient::revoke(std::int64_t lease, std::function<void(std::string)> done) {
  impl_->call(
      "/v3/lease/revoke", json{{"ID", std::to_string(lease)}}, [done](const json&) { done(""); },
      [done](std::string e) { done(std::move(e)); });
}

void EtcdClient::txn(std::vector<Compare> compares, std::vector<Operation> success,
                     std::vector<Operation> failure, Done done) {
  json body = {{"compare", json::array()}, {"success", json::array()}, {"failure", json::array()}};
  for (const auto& c : compares) body["compare"].push_back(compareJson(c));
  for (const auto& o : success) body["success"].push_back(operationJson(o));
  for (const auto& o : failure) body["failure"].push_back(operationJson(o));
  impl_->call(
      "/v3/kv/txn", body,
      [done](const json& j) {
        EtcdResult r;
        r.succeeded = j.value("succeeded", false);  // absent when the compares failed
        r.revision = number(j.value("header", json::object()), "revision");
        if (j.contains("responses")) {
          for (const json& resp : j.at("responses")) {
            if (resp.contains("response_range")) {
              r.kvs = kvsOf(resp.at("response_range"));
              break;
            }
          }
        }
        done(std::move(r));
      },
      [done](std::string e) { done(failed(std::move(e))); });
}

void EtcdClient::range(std::string key, bool prefix, Done done) {
  json body = {{"key", base64Encode(key)}};
  if (prefix) body["range_end"] = base64Encode(prefixEnd(key));
  impl_->call(
      "/v3/kv/range", body,
      [done](const json& j) {
        EtcdResult r;
        r.succeeded = true;
        r.revision = number(j.value("header", json::object()), "revision");
        // Every etcd answer has its store revision: without one (a proxy's "{}"), "no keys"
        // would be a guess - an error, never an empty cluster.
        if (r.revision <= 0) return done(failed("not etcd's answer (no header revision)"));
        r.kvs = kvsOf(j);
        done(std::move(r));
      },
      [done](std::string e) { done(failed(std::move(e))); });
}

}  // namespace hftguard::coord

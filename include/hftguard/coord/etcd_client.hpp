#pragma once
// etcd v3 through its JSON gateway (/v3/...), on the HTTP client's curl-multi loop: leases,
// transactions and ranges - what the etcd coordinator is built of. Keys and values are
// base64 on the wire and plain here; 64-bit numbers arrive as JSON strings. Every call
// answers once, on the loop, within its timeout; a call no endpoint answered tries the next
// endpoint first. An answer that is not etcd's is an error, never a crash.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hftguard/config/secret.hpp"
#include "hftguard/core/duration.hpp"

namespace hftguard::net {
class HttpClient;
}

namespace hftguard::coord {

struct EtcdOptions {
  std::vector<std::string> endpoints;  // http(s)://host:port
  std::string username;                // empty: no auth
  std::optional<config::Secret> password;
  bool tls_verify = true;
  std::string ca_file;    // empty: the system's CA store
  std::string cert_file;  // client certificate and key (etcd's --client-cert-auth)
  std::string key_file;
  Duration timeout = std::chrono::seconds(1);  // per request
};

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t lease = 0;
};

// One comparison of a transaction.
struct Compare {
  enum class Target { CreateRevision, ModRevision, Value, Lease };
  std::string key;
  Target target = Target::CreateRevision;
  std::int64_t number = 0;  // revisions, lease
  std::string value;        // Target::Value
};

// One operation of a transaction.
struct Operation {
  enum class Kind { Put, Delete, Range };
  Kind kind = Kind::Put;
  std::string key;
  std::string value;
  std::int64_t lease = 0;  // Put: bound to this lease
  bool prefix = false;     // Range/Delete: every key under `key`
};

struct EtcdResult {
  std::string error;        // "" when etcd answered the call
  bool succeeded = false;   // a transaction's compares held
  std::int64_t revision = 0;  // the store's revision after the call
  std::vector<KeyValue> kvs;  // what the (first) range read
};

// One batch of a watch stream: the changes in revision order, and the store's revision
// after them (a batch without changes only says how far etcd is).
struct WatchEvent {
  bool deleted = false;  // else a put
  KeyValue kv;           // a deletion has only the key and its mod_revision
};
struct WatchUpdate {
  std::int64_t revision = 0;
  std::vector<WatchEvent> events;
};

class EtcdClient {
 public:
  EtcdClient(net::HttpClient& http, EtcdOptions options);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  using Done = std::function<void(EtcdResult)>;
  // A lease of `ttl`; its id in EtcdResult::revision's place is `lease`.
  void grant(Duration ttl, std::function<void(std::int64_t lease, std::string error)> done);
  // Renews the lease: `ttl_left` is what etcd now grants (0: the lease is gone).
  void keepAlive(std::int64_t lease, std::function<void(Duration ttl_left, std::string error)> done);
  void revoke(std::int64_t lease, std::function<void(std::string error)> done);
  void txn(std::vector<Compare> compares, std::vector<Operation> success,
           std::vector<Operation> failure, Done done);
  void range(std::string key, bool prefix, Done done);
  // A watch: a long-lived stream of every change to the keys under `prefix` from
  // `revision` on, each batch to `changes` as etcd sends it. The stream ends by itself after
  // `span`; `ended` then gets "" - or why it ended earlier ("compacted: ..." when `revision`
  // is older than etcd keeps; an error; an answer that is not etcd's). Called once, never
  // after stopWatch(). Returns the id for stopWatch().
  std::uint64_t watch(std::string prefix, std::int64_t revision, Duration span,
                      std::function<void(WatchUpdate)> changes,
                      std::function<void(std::string why)> ended);
  void stopWatch(std::uint64_t id);
  // Drops the callbacks of every call in flight (the owner is going away).
  void cancelAll();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// The end of the range of every key starting with `prefix` (etcd's range_end).
std::string prefixEnd(const std::string& prefix);

}  // namespace hftguard::coord

#pragma once
// Private: what the PostgreSQL actions (pg_promote, pg_final_sync, patroni) share - a
// server to talk to, and the proof that a server is a writable primary.
#include <string>

#include <pqxx/pqxx>

#include "hftguard/config/params.hpp"
#include "hftguard/core/duration.hpp"

namespace hftguard::actions::kinds {

struct PgTarget {
  std::string conninfo;
  std::string name;  // host:port, for messages
};

// The step's PostgreSQL keys (dbname, user, password, sslmode) at host:port, with libpq's
// timeouts from `timeout`.
PgTarget pgTarget(const config::Params& p, const std::string& host, std::int64_t port,
                  Duration timeout);

// Throws unless `tx`'s server takes a write: txid_current() (which fails during recovery),
// or an upsert of (node, now()) into `table` when one is configured.
void proveWrite(pqxx::nontransaction& tx, const std::string& table, const std::string& node);

}  // namespace hftguard::actions::kinds

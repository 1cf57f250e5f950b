#include "pg_common.hpp"

#include <fmt/format.h>

#include "hftguard/net/pg_conninfo.hpp"

namespace hftguard::actions::kinds {

PgTarget pgTarget(const config::Params& p, const std::string& host, std::int64_t port,
                  Duration timeout) {
  return {net::pgConninfo(p, host, port, timeout), fmt::format("{}:{}", host, port)};
}

void proveWrite(pqxx::nontransaction& tx, const std::string& table, const std::string& node) {
  if (table.empty()) {
    tx.exec("SELECT txid_current()");
    return;
  }
  tx.exec_params("INSERT INTO " + tx.quote_name(table) +
                     " (node, checked_at) VALUES ($1, now()) ON CONFLICT (node) DO UPDATE SET "
                     "checked_at = excluded.checked_at",
                 node);
}

}  // namespace hftguard::actions::kinds

#pragma once
// The libpq connection string of a check or step with PostgreSQL keys (dbname, user,
// sslmode, password), every value quoted, and libpq's own timeouts derived from the
// caller's deadline so a hung server holds a worker thread only that long. What the
// postgres probe and the pg_promote action share.

#include <cstdint>
#include <exception>
#include <string>

#include "hftguard/config/params.hpp"
#include "hftguard/core/duration.hpp"

namespace hftguard::net {

std::string pgConninfo(const config::Params& p, const std::string& host, std::int64_t port,
                       Duration timeout);

// libpq's first line says what happened; the rest is advice ("Is the server running...").
std::string pgError(const std::exception& e);

}  // namespace hftguard::net

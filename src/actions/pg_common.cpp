#include "pg_common.hpp"

#include <cmath>
#include <sstream>

#include <fmt/format.h>
#include <sys/socket.h>

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

bool connectionRefused(const std::string& libpq_message) {
  // libpq writes one "connection to server at "h" (addr), port p failed: <strerror>" line
  // per address it tried (older versions: "could not connect to server: <strerror>"); the
  // advice lines after each are indented.
  std::istringstream lines(libpq_message);
  std::string line;
  int attempts = 0;
  while (std::getline(lines, line)) {
    if (line.find("failed:") == std::string::npos &&
        line.find("could not connect") == std::string::npos)
      continue;
    ++attempts;
    if (line.find("Connection refused") == std::string::npos) return false;
  }
  return attempts > 0;
}

OldPrimary inspectOldPrimary(const PgTarget& t, PgCancel* cancel) {
  using State = OldPrimary::State;
  try {
    pqxx::connection c(t.conninfo);
    std::optional<PgCancelScope> scope;
    if (cancel != nullptr && !scope.emplace(*cancel, c).ok()) {
      return {State::Unknown, fmt::format("old primary {}: the step's deadline passed", t.name),
              {}};
    }
    pqxx::nontransaction tx(c);
    auto row = tx.exec(
        "SELECT r, COALESCE(CASE WHEN r THEN GREATEST(pg_last_wal_receive_lsn(), "
        "pg_last_wal_replay_lsn()) ELSE pg_current_wal_lsn() END::text, '') "
        "FROM (SELECT pg_is_in_recovery() AS r) s")[0];
    if (row[0].as<bool>()) {
      return {State::Standby, fmt::format("old primary {} answers as a standby", t.name),
              row[1].as<std::string>()};
    }
    return {State::Primary,
            fmt::format("old primary {} still answers as a primary: fence it first (never two "
                        "primaries)",
                        t.name),
            row[1].as<std::string>()};
  } catch (const pqxx::broken_connection& e) {
    // Shut by PgCancel at the deadline: whatever the message says, that proves nothing.
    if (cancel != nullptr && cancel->cancelled()) {
      return {State::Unknown, fmt::format("old primary {}: the step's deadline passed", t.name),
              {}};
    }
    if (connectionRefused(e.what())) {
      return {State::Refused, fmt::format("old primary {} refuses connections", t.name), {}};
    }
    return {State::Unknown, fmt::format("old primary {}: {}", t.name, net::pgError(e)), {}};
  } catch (const std::exception& e) {
    return {State::Unknown, fmt::format("old primary {}: {}", t.name, net::pgError(e)), {}};
  }
}

PlanProof planProof(const PlanContext& ctx, bool allow_unfenced) {
  PlanProof p;
  if (ctx.fence_failed) {
    p.refusal =
        "a fence step earlier in this plan failed: the old primary may still take writes; "
        "fence it by hand, then run the promotion";
  } else if (ctx.old_primary_fenced) {
    p.proven = true;
    p.how = "old primary fenced earlier in the plan";
  } else if (allow_unfenced) {
    p.proven = true;
    p.how = "allow_unfenced";
  }
  return p;
}

bool PgCancel::attach(int fd) {
  std::lock_guard lock(m_);
  if (cancelled_) return false;
  fds_.push_back(fd);
  return true;
}

void PgCancel::detach(int fd) {
  std::lock_guard lock(m_);
  std::erase(fds_, fd);
}

bool PgCancel::begin(std::string what) {
  std::lock_guard lock(m_);
  if (cancelled_) return false;
  sent_ = std::move(what);
  return true;
}

void PgCancel::confirmed() {
  std::lock_guard lock(m_);
  sent_.clear();
}

bool PgCancel::cancelled() const {
  std::lock_guard lock(m_);
  return cancelled_;
}

void PgCancel::cancel() {
  std::lock_guard lock(m_);
  cancelled_ = true;
  // shutdown, not close: the fd stays libpq's, but no byte leaves or arrives on it again and
  // a blocked call on the worker returns at once.
  for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
}

std::string PgCancel::unconfirmed() const {
  std::lock_guard lock(m_);
  return sent_;
}

namespace {

std::optional<std::uint64_t> parseLsn(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == text.size()) return std::nullopt;
  try {
    std::size_t used = 0;
    const std::uint64_t hi = std::stoull(text.substr(0, slash), &used, 16);
    if (used != slash) return std::nullopt;
    const std::uint64_t lo = std::stoull(text.substr(slash + 1), &used, 16);
    if (used != text.size() - slash - 1 || hi > 0xffffffffULL || lo > 0xffffffffULL)
      return std::nullopt;
    return (hi << 32) | lo;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<std::int64_t> lsnDiff(const std::string& a, const std::string& b) {
  const auto x = parseLsn(a);
  const auto y = parseLsn(b);
  if (!x || !y) return std::nullopt;
  return static_cast<std::int64_t>(*x - *y);
}

std::string formatAge(double seconds) {
  if (seconds < 1) return fmt::format("{:.0f}ms", seconds * 1000);
  const auto s = static_cast<long long>(std::llround(seconds));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m {}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h {}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d {}h", s / 86400, (s % 86400) / 3600);
}

}  // namespace hftguard::actions::kinds

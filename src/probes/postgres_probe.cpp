// postgres: SELECT 1 latency, role (pg_is_in_recovery), replication lag on a standby in
// bytes and in seconds, and an optional write check. libpqxx blocks, so each run is a job on
// the worker pool; libpq's own timeouts bound how long a worker can be held. One connection
// serves the check's runs (a connection per run cost more than all the queries: a backend
// fork, and TLS when configured); every `reconnect_every` runs a fresh one proves the server
// still accepts connections.
#include <atomic>
#include <cmath>
#include <memory>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "hftguard/net/pg_conninfo.hpp"
#include "hftguard/net/worker_pool.hpp"

#include "kinds.hpp"

namespace hftguard::probes::kinds {
namespace {

struct Settings {
  std::string conninfo;
  std::string expect_role;
  Duration max_latency{};
  std::optional<std::int64_t> max_lag_bytes;
  std::optional<Duration> max_lag;
  std::string write_table;
  std::string node;
  std::string target;
  std::int64_t reconnect_every = 60;
};

// The check's connection. Only the worker running the check's one open run touches it (the
// probe's busy flag orders the runs), so it needs no lock.
struct Session {
  std::unique_ptr<pqxx::connection> conn;
  std::int64_t runs = 0;  // runs on `conn`
};

// Asks the server once over `conn`; `t0` is when the run started talking to the server
// (before connecting when it connected). Throws what libpqxx throws.
ProbeOutcome ask(const Settings& s, pqxx::connection& conn,
                 std::chrono::steady_clock::time_point t0) {
  pqxx::nontransaction tx(conn);
  tx.exec("SELECT 1");
  const Duration latency = std::chrono::steady_clock::now() - t0;
  const double ms = std::chrono::duration<double, std::milli>(latency).count();
  const bool standby = tx.exec("SELECT pg_is_in_recovery()")[0][0].as<bool>();
  const std::string role = standby ? "standby" : "primary";
  ProbeOutcome out =
      ProbeOutcome::ok(fmt::format("{} {} answered in {:.1f}ms", s.target, role, ms));
  out.observe("latency_ms", ms).observe("is_primary", standby ? 0 : 1);
  // Data-checksum failures seen by the server since its statistics were reset; the
  // decider fails the component over when the count grows.
  out.observe("data_corruption",
              tx.exec("SELECT COALESCE(sum(checksum_failures), 0) FROM pg_stat_database")[0][0]
                  .as<double>());
  if (s.expect_role != "any" && s.expect_role != role) {
    return ProbeOutcome::failed(
        fmt::format("{} is a {}, expected {}", s.target, role, s.expect_role));
  }
  if (standby) {
    // Bytes received but not replayed, and the replay delay only while bytes are pending:
    // now() - pg_last_xact_replay_timestamp() alone grows while the primary is idle.
    auto r = tx.exec(
        "SELECT COALESCE(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), "
        "0),"
        " CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
        " ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END,"
        " (SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming')");
    const double lagBytes = r[0][0].as<double>();
    const double lagSeconds = r[0][1].as<double>();
    const bool streaming = r[0][2].as<int>() > 0;
    out.observe("lag_bytes", lagBytes).observe("lag_seconds", lagSeconds);
    out.observe("streaming", streaming ? 1 : 0);
    out.reason += fmt::format(", lag {:.0f} bytes / {:.1f}s{}", lagBytes, lagSeconds,
                              streaming ? "" : ", not streaming");
    const bool watchingLag = s.max_lag_bytes || s.max_lag;
    if (watchingLag && !streaming) {
      out.status = ProbeStatus::Failed;
      out.reason = s.target + " standby is not streaming from its primary";
    } else if (s.max_lag_bytes && lagBytes > static_cast<double>(*s.max_lag_bytes)) {
      out.status = ProbeStatus::Failed;
      out.reason = fmt::format("{} replication lag {:.0f} bytes over {}", s.target, lagBytes,
                               *s.max_lag_bytes);
    } else if (s.max_lag && lagSeconds > std::chrono::duration<double>(*s.max_lag).count()) {
      out.status = ProbeStatus::Failed;
      out.reason = fmt::format("{} replication lag {:.1f}s over {}", s.target, lagSeconds,
                               formatDuration(*s.max_lag));
    }
  } else if (!s.write_table.empty()) {
    tx.exec_params("INSERT INTO " + tx.quote_name(s.write_table) +
                       " (node, checked_at) VALUES ($1, now()) ON CONFLICT (node) DO UPDATE "
                       "SET checked_at = excluded.checked_at",
                   s.node);
    out.reason += ", write ok";
  }
  if (out.status == ProbeStatus::Ok && latency > s.max_latency) {
    out.status = ProbeStatus::Failed;
    out.reason =
        fmt::format("{} slow: {:.1f}ms over {}", s.target, ms, formatDuration(s.max_latency));
  }
  return out;
}

// Runs on a worker thread: talks to the server, returns the outcome. Never throws. A cached
// connection that fails is dropped and the run is asked again on a fresh one, so a backend
// that was terminated or a server that restarted between runs costs no failed result; the
// run fails only when the fresh connection fails too.
ProbeOutcome probeOnce(const Settings& s, Session& session) {
  if (session.conn && session.runs >= s.reconnect_every) session.conn.reset();
  if (session.conn) {
    try {
      ++session.runs;
      return ask(s, *session.conn, std::chrono::steady_clock::now()).observe("connected", 0);
    } catch (const std::exception&) {
      session.conn.reset();
    }
  }
  try {
    const auto t0 = std::chrono::steady_clock::now();
    session.conn = std::make_unique<pqxx::connection>(s.conninfo);
    session.runs = 1;
    return ask(s, *session.conn, t0).observe("connected", 1);
  } catch (const std::exception& e) {
    session.conn.reset();
    return ProbeOutcome::failed(s.target + ": " + net::pgError(e));
  }
}

class PostgresProbe final : public Probe {
 public:
  PostgresProbe(const CheckConfig& c, ProbeEnv& env) : env_(env) {
    const auto& p = c.params;
    s_.conninfo = net::pgConninfo(p, p.str("host"), p.integer("port"), c.timeout);
    s_.expect_role = p.str("expect_role");
    s_.max_latency = p.duration("max_latency");
    if (p.has("max_lag_bytes")) s_.max_lag_bytes = p.integer("max_lag_bytes");
    if (p.has("max_lag")) s_.max_lag = p.duration("max_lag");
    if (p.has("write_check_table")) s_.write_table = p.str("write_check_table");
    s_.node = env.node;
    s_.target = fmt::format("postgres {}:{}", p.str("host"), p.integer("port"));
    s_.reconnect_every = p.integer("reconnect_every");
  }

  void start(Done done) override {
    // A worker still blocked on the previous run means the server is hung: do not tie up a
    // second worker; the scheduler reports this run as a timeout at its deadline.
    if (busy_->exchange(true)) return;
    env_.workers.submit([s = s_, session = session_, busy = busy_,
                         done = std::move(done)]() -> net::WorkerPool::Continuation {
      ProbeOutcome outcome = probeOnce(s, *session);
      busy->store(false);
      return [done, outcome = std::move(outcome)]() mutable { done(std::move(outcome)); };
    });
  }

 private:
  ProbeEnv& env_;
  Settings s_;
  // Shared with the run in flight: a run that outlives the probe closes the connection.
  std::shared_ptr<Session> session_ = std::make_shared<Session>();
  std::shared_ptr<std::atomic<bool>> busy_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace

std::unique_ptr<Probe> makePostgres(const CheckConfig& c, ProbeEnv& env) {
  return std::make_unique<PostgresProbe>(c, env);
}

}  // namespace hftguard::probes::kinds

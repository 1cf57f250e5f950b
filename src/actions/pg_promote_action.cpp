// pg_promote: promote a PostgreSQL standby. Preconditions: the standby answers, is in
// recovery, has replayed all but max_lag_bytes of the WAL it received, and (when
// old_primary_host is set) the old primary no longer answers as a primary - a planned
// switchover syncs (pg_final_sync) and stops it in earlier steps. Promotion is
// pg_promote(wait => false) and a poll for NOT pg_is_in_recovery(); a write proves the new
// primary. libpqxx blocks, so the work runs on the worker pool, bounded by libpq timeouts
// from the step's deadline.
#include <atomic>
#include <thread>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "hftguard/net/pg_conninfo.hpp"
#include "hftguard/net/worker_pool.hpp"

#include "kinds.hpp"
#include "pg_common.hpp"

namespace hftguard::actions::kinds {
namespace {

struct Settings {
  PgTarget standby;
  std::optional<PgTarget> old_primary;
  std::int64_t max_lag_bytes = 0;
  std::string write_table;
  std::string node;
  std::chrono::milliseconds deadline{};
};

// The preconditions; empty when they hold, else why not. Fills `lag` (bytes).
std::string preconditions(const Settings& s, double& lag) {
  try {
    pqxx::connection c(s.standby.conninfo);
    pqxx::nontransaction tx(c);
    if (!tx.exec("SELECT pg_is_in_recovery()")[0][0].as<bool>()) {
      return fmt::format("{} is not a standby (already promoted?)", s.standby.name);
    }
    lag = tx.exec(
                "SELECT COALESCE(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), "
                "pg_last_wal_replay_lsn()), 0)")[0][0]
              .as<double>();
    if (lag > static_cast<double>(s.max_lag_bytes)) {
      return fmt::format("{} has {:.0f} bytes of WAL not replayed, over max_lag_bytes {}",
                         s.standby.name, lag, s.max_lag_bytes);
    }
  } catch (const std::exception& e) {
    return fmt::format("standby {}: {}", s.standby.name, net::pgError(e));
  }
  if (s.old_primary) {
    try {
      pqxx::connection c(s.old_primary->conninfo);
      pqxx::nontransaction tx(c);
      if (!tx.exec("SELECT pg_is_in_recovery()")[0][0].as<bool>()) {
        return fmt::format(
            "old primary {} still answers as a primary: fence it first (never two primaries)",
            s.old_primary->name);
      }
    } catch (const std::exception&) {
      // Unreachable: what an unplanned failover expects.
    }
  }
  return {};
}

ActionResult promote(const Settings& s) {
  double lag = 0;
  if (auto why = preconditions(s, lag); !why.empty()) return ActionResult::failure(why);
  try {
    pqxx::connection c(s.standby.conninfo);
    pqxx::nontransaction tx(c);
    tx.exec("SELECT pg_promote(wait => false)");
    const auto until = std::chrono::steady_clock::now() + s.deadline;
    while (tx.exec("SELECT pg_is_in_recovery()")[0][0].as<bool>()) {
      if (std::chrono::steady_clock::now() > until) {
        return ActionResult::failure(
            fmt::format("{} still in recovery after pg_promote", s.standby.name));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    proveWrite(tx, s.write_table, s.node);
    return ActionResult::success(fmt::format(
        "{} promoted (replay lag was {:.0f} bytes) and accepts writes", s.standby.name, lag));
  } catch (const std::exception& e) {
    return ActionResult::failure(fmt::format("promoting {}: {}", s.standby.name, net::pgError(e)));
  }
}

class PgPromote final : public Action {
 public:
  PgPromote(const StepConfig& step, const PlanContext& ctx, ActionEnv& env) : env_(env) {
    const auto& p = step.params;
    const long ms =
        static_cast<long>(std::chrono::ceil<std::chrono::milliseconds>(step.timeout).count());
    s_.standby = pgTarget(p, p.str("host"), p.integer("port"), step.timeout);
    if (p.has("old_primary_host")) {
      s_.old_primary =
          pgTarget(p, p.str("old_primary_host"), p.integer("old_primary_port"), step.timeout);
    }
    s_.max_lag_bytes = p.integer("max_lag_bytes");
    if (p.has("write_check_table")) s_.write_table = p.str("write_check_table");
    s_.node = ctx.node;
    s_.deadline = std::chrono::milliseconds(ms);
  }

  std::string describe() const override {
    return fmt::format("promote PostgreSQL standby {} (replay lag at most {} bytes{}{})",
                       s_.standby.name, s_.max_lag_bytes,
                       s_.old_primary ? ", old primary down: " + s_.old_primary->name : "",
                       ", then a write");
  }

  void check(Done done) override {
    env_.workers.submit([s = s_, done]() -> net::WorkerPool::Continuation {
      double lag = 0;
      const std::string why = preconditions(s, lag);
      ActionResult r =
          why.empty() ? ActionResult::success(fmt::format(
                            "{} is a standby {:.0f} bytes behind: promotable", s.standby.name, lag))
                      : ActionResult::failure(why);
      return [done, r] { done(r); };
    });
  }

  void run(Done done) override {
    env_.workers.submit([s = s_, done]() -> net::WorkerPool::Continuation {
      ActionResult r = promote(s);
      return [done, r] { done(r); };
    });
  }

 private:
  ActionEnv& env_;
  Settings s_;
};

}  // namespace

std::unique_ptr<Action> makePgPromote(const StepConfig& s, const PlanContext& c, ActionEnv& env) {
  return std::make_unique<PgPromote>(s, c, env);
}

}  // namespace hftguard::actions::kinds

// pg_final_sync: the runbook's "final data sync" before a planned switchover. CHECKPOINT the
// old primary, read its WAL position, wait until the standby has replayed up to it, and
// after `quiet_for` read the position again: it must not have moved (writers are stopped),
// or the sync starts over - a few rounds, then a refusal that names the moving WAL. The plan
// stops the old primary next and promotes with max_lag_bytes 0. Runs on the worker pool
// (libpqxx blocks), each server call bounded by libpq timeouts from the step's deadline; at
// the deadline cancel() shuts both connections (PgCancel) and the job stops sending. An old
// primary that does not answer fails the step: there is nothing to sync from.
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
  PgTarget old_primary;
  int rounds = 3;
  std::chrono::milliseconds quiet{};
  std::chrono::milliseconds deadline{};
};

std::string lsnOf(pqxx::nontransaction& tx) {
  return tx.exec("SELECT pg_current_wal_lsn()::text")[0][0].as<std::string>();
}

// Empty when the standby replayed `lsn` before `until`; else why not.
std::string waitForReplay(pqxx::nontransaction& standby, const std::string& lsn,
                          std::chrono::steady_clock::time_point until, const Settings& s,
                          const PgCancel& cancel) {
  for (;;) {
    if (cancel.cancelled()) return "cancelled at the step's deadline";
    auto row = standby.exec_params(
        "SELECT pg_is_in_recovery(), COALESCE(pg_last_wal_replay_lsn()::text, ''), "
        "COALESCE(pg_wal_lsn_diff(pg_last_wal_replay_lsn(), $1::pg_lsn) >= 0, false)",
        lsn)[0];
    if (!row[0].as<bool>()) return fmt::format("{} is not a standby", s.standby.name);
    if (row[2].as<bool>()) return {};
    if (std::chrono::steady_clock::now() > until) {
      return fmt::format("standby {} replayed up to {}, not yet {}", s.standby.name,
                         row[1].as<std::string>(), lsn);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

ActionResult sync(const Settings& s, bool dry_run, PgCancel& cancel) {
  const auto until = std::chrono::steady_clock::now() + s.deadline;
  try {
    pqxx::connection oldConn(s.old_primary.conninfo);
    PgCancelScope oldScope(cancel, oldConn);
    if (!oldScope.ok()) return ActionResult::failure("cancelled at the step's deadline");
    pqxx::nontransaction old(oldConn);
    if (old.exec("SELECT pg_is_in_recovery()")[0][0].as<bool>()) {
      return ActionResult::failure(
          fmt::format("{} is not a primary: nothing to sync from", s.old_primary.name));
    }
    pqxx::connection standbyConn(s.standby.conninfo);
    PgCancelScope standbyScope(cancel, standbyConn);
    if (!standbyScope.ok()) return ActionResult::failure("cancelled at the step's deadline");
    pqxx::nontransaction standby(standbyConn);
    if (dry_run) {
      const std::string lsn = lsnOf(old);
      auto row = standby.exec_params(
          "SELECT pg_is_in_recovery(), COALESCE(pg_wal_lsn_diff($1::pg_lsn, "
          "pg_last_wal_replay_lsn()), 0)",
          lsn)[0];
      if (!row[0].as<bool>())
        return ActionResult::failure(fmt::format("{} is not a standby", s.standby.name));
      return ActionResult::success(
          fmt::format("old primary at {}; standby {} is {:.0f} bytes behind", lsn, s.standby.name,
                      row[1].as<double>()));
    }
    if (!cancel.begin(fmt::format("CHECKPOINT on {}", s.old_primary.name))) {
      return ActionResult::failure("cancelled at the step's deadline, before CHECKPOINT");
    }
    old.exec("CHECKPOINT");
    cancel.confirmed();
    std::string lsn = lsnOf(old);
    for (int round = 1; round <= s.rounds; ++round) {
      if (auto why = waitForReplay(standby, lsn, until, s, cancel); !why.empty())
        return ActionResult::failure(why);
      std::this_thread::sleep_for(s.quiet);
      if (cancel.cancelled()) return ActionResult::failure("cancelled at the step's deadline");
      const std::string now = lsnOf(old);
      if (now == lsn) {
        return ActionResult::success(
            fmt::format("standby {} replayed all of {}'s WAL (up to {}); no new WAL for {} ms",
                        s.standby.name, s.old_primary.name, lsn, s.quiet.count()));
      }
      lsn = now;
    }
    return ActionResult::failure(fmt::format(
        "{} is still writing (WAL moved on in each of {} rounds, now {}): stop its writers first",
        s.old_primary.name, s.rounds, lsn));
  } catch (const std::exception& e) {
    return ActionResult::failure(fmt::format("final sync: {}", net::pgError(e)));
  }
}

class PgFinalSync final : public Action {
 public:
  PgFinalSync(const StepConfig& step, const PlanContext&, ActionEnv& env) : env_(env) {
    const auto& p = step.params;
    s_.standby = pgTarget(p, p.str("host"), p.integer("port"), step.timeout);
    s_.old_primary =
        pgTarget(p, p.str("old_primary_host"), p.integer("old_primary_port"), step.timeout);
    s_.rounds = static_cast<int>(p.integer("rounds"));
    s_.quiet = std::chrono::ceil<std::chrono::milliseconds>(p.duration("quiet_for"));
    s_.deadline = std::chrono::ceil<std::chrono::milliseconds>(step.timeout);
  }

  std::string describe() const override {
    return fmt::format("CHECKPOINT {}, wait until standby {} replays its WAL and the WAL stops",
                       s_.old_primary.name, s_.standby.name);
  }

  ~PgFinalSync() override { cancel(); }

  void check(Done done) override { submit(true, std::move(done)); }
  void run(Done done) override { submit(false, std::move(done)); }
  void cancel() override { cancel_->cancel(); }

 private:
  void submit(bool dry_run, Done done) {
    // Each attempt its own cancel: a retry after a timed-out attempt is not born cancelled.
    cancel_->cancel();
    cancel_ = std::make_shared<PgCancel>();
    env_.workers.submit(
        [s = s_, dry_run, cancel = cancel_, done]() -> net::WorkerPool::Continuation {
          ActionResult r = sync(s, dry_run, *cancel);
          return [done, r] { done(r); };
        });
  }

  ActionEnv& env_;
  Settings s_;
  std::shared_ptr<PgCancel> cancel_ = std::make_shared<PgCancel>();
};

}  // namespace

std::unique_ptr<Action> makePgFinalSync(const StepConfig& s, const PlanContext& c, ActionEnv& env) {
  return std::make_unique<PgFinalSync>(s, c, env);
}

}  // namespace hftguard::actions::kinds

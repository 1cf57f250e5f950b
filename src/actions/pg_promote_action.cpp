// pg_promote: promote a PostgreSQL standby. Preconditions, in order:
//  - the plan's evidence: a failed fence earlier in the plan refuses;
//  - the standby answers, is in recovery, has replayed all but max_lag_bytes of the WAL it
//    received, and its WAL receiver, when running, streams and heard from its primary within
//    max_staleness (replay lag 0 on a standby cut off for hours is not freshness);
//  - proof that the old primary cannot take writes: a fence earlier in the plan succeeded,
//    or old_primary_host answers as a standby (whose WAL we must have replayed) or refuses
//    the connection. A timeout, no route, an auth or TLS error prove nothing: refused,
//    unless the step says allow_unfenced.
// Promotion is pg_promote(wait => false) and a poll for NOT pg_is_in_recovery(); a write
// proves the new primary. libpqxx blocks, so the work runs on the worker pool; at the
// deadline cancel() shuts the connection's socket and nothing more is sent (PgCancel).
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
  double max_staleness_s = 0;
  std::string write_table;
  std::string node;
  PlanProof proof;
  std::chrono::milliseconds deadline{};
};

struct Standby {
  double lag = 0;                 // bytes received, not replayed
  std::string replay;             // replay LSN
  std::string receiver;           // "streaming", "waiting"...; empty: no WAL receiver running
  std::optional<double> heard_s;  // seconds since the receiver's last message
};

// Empty when `st` may be promoted as far as the standby alone tells.
std::string inspectStandby(const Settings& s, Standby& st, PgCancel& cancel) {
  pqxx::connection c(s.standby.conninfo);
  PgCancelScope scope(cancel, c);  // a hung standby is let go at the deadline
  if (!scope.ok()) return fmt::format("standby {}: the step's deadline passed", s.standby.name);
  pqxx::nontransaction tx(c);
  auto row = tx.exec(
      "SELECT pg_is_in_recovery(), COALESCE(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), "
      "pg_last_wal_replay_lsn()), 0), COALESCE(pg_last_wal_replay_lsn()::text, ''), "
      "COALESCE((SELECT status FROM pg_stat_wal_receiver), ''), (SELECT EXTRACT(EPOCH FROM "
      "clock_timestamp() - last_msg_receipt_time) FROM pg_stat_wal_receiver)")[0];
  if (!row[0].as<bool>()) {
    return fmt::format("{} is not a standby (already promoted?)", s.standby.name);
  }
  st = {row[1].as<double>(), row[2].as<std::string>(), row[3].as<std::string>(), std::nullopt};
  if (!row[4].is_null()) st.heard_s = row[4].as<double>();
  if (st.lag > static_cast<double>(s.max_lag_bytes)) {
    return fmt::format("{} has {:.0f} bytes of WAL not replayed, over max_lag_bytes {}",
                       s.standby.name, st.lag, s.max_lag_bytes);
  }
  const std::string heard = st.heard_s ? "last message " + formatAge(*st.heard_s) + " ago" : "";
  if (!st.receiver.empty() && st.receiver != "streaming") {
    return fmt::format("{}'s WAL receiver is not streaming (it is {}{})", s.standby.name,
                       st.receiver, heard.empty() ? "" : ", " + heard);
  }
  if (st.heard_s && *st.heard_s > s.max_staleness_s) {
    return fmt::format(
        "{}'s WAL receiver has not heard from its primary for {} (max_staleness "
        "{})",
        s.standby.name, formatAge(*st.heard_s), formatAge(s.max_staleness_s));
  }
  return {};
}

// Empty when the old primary is proven unable to take writes (and, when it answers as a
// standby, the candidate has replayed what it has); else why not.
std::string inspectOld(const Settings& s, const Standby& st, std::string& how, PgCancel& cancel) {
  if (s.proof.proven) {
    how = s.proof.how;
    return {};
  }
  const OldPrimary old = inspectOldPrimary(*s.old_primary, &cancel);
  if (old.state == OldPrimary::State::Primary) return old.detail;
  if (old.state == OldPrimary::State::Unknown) {
    return old.detail +
           ": unreachable is not down (it may still take writes behind a partition); fence it "
           "in an earlier step or set allow_unfenced: true";
  }
  if (old.state == OldPrimary::State::Standby) {
    const auto ahead = lsnDiff(old.lsn, st.replay);
    if (ahead && *ahead > s.max_lag_bytes) {
      return fmt::format(
          "{}, {} bytes ahead of {} (at {}, {} replayed up to {}), over "
          "max_lag_bytes {}",
          old.detail, *ahead, s.standby.name, old.lsn, s.standby.name, st.replay, s.max_lag_bytes);
    }
  }
  how = old.detail;
  return {};
}

struct Checked {
  std::string why;  // empty: promotable
  Standby standby;
  std::string how;  // the proof about the old primary
};

// Read-only, and every connection it opens is shut at the deadline through `cancel`.
Checked preconditions(const Settings& s, PgCancel& cancel) {
  Checked out;
  if (s.proof.refusal) return {*s.proof.refusal, {}, {}};
  if (!s.proof.proven && !s.old_primary) {
    return {
        "no proof that the old primary cannot take writes: set old_primary_host, fence it "
        "in an earlier step, or set allow_unfenced: true",
        {},
        {}};
  }
  try {
    if (out.why = inspectStandby(s, out.standby, cancel); !out.why.empty()) return out;
  } catch (const std::exception& e) {
    out.why = fmt::format("standby {}: {}", s.standby.name, net::pgError(e));
    return out;
  }
  out.why = inspectOld(s, out.standby, out.how, cancel);
  return out;
}

std::string freshness(const Standby& st) {
  if (st.receiver.empty()) return "WAL receiver stopped";
  return "streaming, last message " + formatAge(st.heard_s.value_or(0)) + " ago";
}

// Promotes on `c`; every change is begun through `cancel`, so none is sent past the deadline.
ActionResult promoteOn(pqxx::connection& c, const Settings& s, PgCancel& cancel,
                       const Checked& pre) {
  pqxx::nontransaction tx(c);
  if (!cancel.begin(fmt::format("pg_promote was sent to {} and not confirmed: the outcome is "
                                "unknown",
                                s.standby.name))) {
    return ActionResult::failure("cancelled before pg_promote was sent");
  }
  tx.exec("SELECT pg_promote(wait => false)");
  const auto until = std::chrono::steady_clock::now() + s.deadline;
  while (tx.exec("SELECT pg_is_in_recovery()")[0][0].as<bool>()) {
    if (cancel.cancelled() || std::chrono::steady_clock::now() > until) {
      return ActionResult::failure(fmt::format(
          "{} still in recovery after pg_promote: the outcome is unknown", s.standby.name));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!cancel.begin(
          fmt::format("{} was promoted; its write check was not confirmed", s.standby.name))) {
    return ActionResult::failure(
        fmt::format("{} was promoted, then cancelled before its write check", s.standby.name));
  }
  proveWrite(tx, s.write_table, s.node);
  cancel.confirmed();
  return ActionResult::success(
      fmt::format("{} promoted (replay lag was {:.0f} bytes, {}; {}) and accepts writes",
                  s.standby.name, pre.standby.lag, freshness(pre.standby), pre.how));
}

ActionResult promote(const Settings& s, PgCancel& cancel) {
  const Checked pre = preconditions(s, cancel);
  if (!pre.why.empty()) return ActionResult::failure(pre.why);
  try {
    pqxx::connection c(s.standby.conninfo);
    PgCancelScope scope(cancel, c);
    if (!scope.ok()) return ActionResult::failure("cancelled before pg_promote was sent");
    return promoteOn(c, s, cancel, pre);
  } catch (const std::exception& e) {
    const std::string unknown = cancel.unconfirmed();
    return ActionResult::failure(fmt::format("promoting {}: {}{}", s.standby.name, net::pgError(e),
                                             unknown.empty() ? "" : " (" + unknown + ")"));
  }
}

class PgPromote final : public Action {
 public:
  PgPromote(const StepConfig& step, const PlanContext& ctx, ActionEnv& env) : env_(env) {
    const auto& p = step.params;
    s_.standby = pgTarget(p, p.str("host"), p.integer("port"), step.timeout);
    if (p.has("old_primary_host")) {
      s_.old_primary =
          pgTarget(p, p.str("old_primary_host"), p.integer("old_primary_port"), step.timeout);
    }
    s_.max_lag_bytes = p.integer("max_lag_bytes");
    s_.max_staleness_s = std::chrono::duration<double>(p.duration("max_staleness")).count();
    if (p.has("write_check_table")) s_.write_table = p.str("write_check_table");
    s_.node = ctx.node;
    s_.proof = planProof(ctx, p.flag("allow_unfenced"));
    s_.deadline = std::chrono::ceil<std::chrono::milliseconds>(step.timeout);
  }
  ~PgPromote() override { cancel(); }

  std::string describe() const override {
    return fmt::format(
        "promote PostgreSQL standby {} (replay lag at most {} bytes, {}), then a "
        "write",
        s_.standby.name, s_.max_lag_bytes,
        s_.proof.proven  ? s_.proof.how
        : s_.old_primary ? "old primary down: " + s_.old_primary->name
                         : "no old primary to check");
  }

  void check(Done done) override {
    cancel_->cancel();
    cancel_ = std::make_shared<PgCancel>();
    env_.workers.submit([s = s_, cancel = cancel_, done]() -> net::WorkerPool::Continuation {
      const Checked pre = preconditions(s, *cancel);
      ActionResult r = pre.why.empty()
                           ? ActionResult::success(fmt::format(
                                 "{} is a standby {:.0f} bytes behind ({}; {}): "
                                 "promotable",
                                 s.standby.name, pre.standby.lag, freshness(pre.standby), pre.how))
                           : ActionResult::failure(pre.why);
      return [done, r] { done(r); };
    });
  }

  void run(Done done) override {
    // Each attempt its own cancel: a retry after a timed-out attempt is not born cancelled.
    cancel_->cancel();
    cancel_ = std::make_shared<PgCancel>();
    env_.workers.submit([s = s_, cancel = cancel_, done]() -> net::WorkerPool::Continuation {
      ActionResult r = promote(s, *cancel);
      return [done, r] { done(r); };
    });
  }

  void cancel() override { cancel_->cancel(); }
  std::string lastSeen() const override { return cancel_->unconfirmed(); }

 private:
  ActionEnv& env_;
  Settings s_;
  std::shared_ptr<PgCancel> cancel_ = std::make_shared<PgCancel>();
};

}  // namespace

std::unique_ptr<Action> makePgPromote(const StepConfig& s, const PlanContext& c, ActionEnv& env) {
  return std::make_unique<PgPromote>(s, c, env);
}

}  // namespace hftguard::actions::kinds

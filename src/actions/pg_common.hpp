#pragma once
// Private: what the PostgreSQL actions (pg_promote, pg_final_sync, patroni) share - a
// server to talk to, the proof that a server is a writable primary, what the old primary's
// answer proves, and the cancel path that keeps a worker's job from acting past its deadline.
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "hftguard/actions/action.hpp"
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

// True when libpq's message says every address of the host refused the TCP connection
// (ECONNREFUSED: the host answered with a reset, nothing listens). A timeout, no route, an
// auth or TLS error is not a refusal.
bool connectionRefused(const std::string& libpq_message);

// What asking the old primary proved. Only Standby and Refused prove it cannot take writes.
struct OldPrimary {
  enum class State { Standby, Refused, Primary, Unknown } state = State::Unknown;
  std::string detail;  // one line, for the refusal or the step's result
  std::string lsn;     // its WAL position when it answered (receive or current LSN)
  bool proven() const { return state == State::Standby || state == State::Refused; }
};
class PgCancel;
// Blocking: on a worker. With `cancel`, the connection is shut when the step's deadline
// passes (an answer that never came proves nothing: Unknown).
OldPrimary inspectOldPrimary(const PgTarget& t, PgCancel* cancel = nullptr);

// The plan's evidence about the old primary before looking at it: a failed fence refuses,
// a fence that succeeded (or the step's allow_unfenced) is proof enough. Empty optional:
// the step must find its proof itself.
struct PlanProof {
  std::optional<std::string> refusal;  // set: refuse with this
  bool proven = false;                 // a fence succeeded, or allow_unfenced
  std::string how;                     // "fenced earlier in the plan", ...
};
PlanProof planProof(const PlanContext& ctx, bool allow_unfenced);

// Shared by an action on the loop and its job on a worker. At the deadline the loop calls
// cancel(): the connection's socket is shut down (under the lock, so the fd is never a
// reused one) and from then on begin() refuses, so nothing is sent after the deadline.
class PgCancel {
 public:
  // Worker: a connection's socket, once connected. False when already cancelled.
  bool attach(int fd);
  void detach(int fd);  // before that connection closes
  // Worker: about to send `what` (a change). False, and nothing may be sent, when cancelled.
  bool begin(std::string what);
  void confirmed();  // what began was confirmed done
  bool cancelled() const;
  // Loop thread.
  void cancel();
  // What was sent and never confirmed ("pg_promote on 127.0.0.1:5433"), or empty.
  std::string unconfirmed() const;

 private:
  mutable std::mutex m_;
  bool cancelled_ = false;
  std::vector<int> fds_;
  std::string sent_;
};

// Keeps `cancel` attached to `conn`'s socket for its scope; declare it after the connection.
class PgCancelScope {
 public:
  PgCancelScope(PgCancel& cancel, pqxx::connection& conn)
      : cancel_(cancel), fd_(conn.sock()), ok_(cancel.attach(fd_)) {}
  ~PgCancelScope() { cancel_.detach(fd_); }
  PgCancelScope(const PgCancelScope&) = delete;
  PgCancelScope& operator=(const PgCancelScope&) = delete;
  bool ok() const { return ok_; }

 private:
  PgCancel& cancel_;
  int fd_;
  bool ok_;
};

// a - b in bytes for two LSNs as PostgreSQL prints them ("16/B374D848"); none if either
// does not parse.
std::optional<std::int64_t> lsnDiff(const std::string& a, const std::string& b);

// "3h 2m", "41s", "850ms": an age for a refusal.
std::string formatAge(double seconds);

}  // namespace hftguard::actions::kinds

// patroni: fail over or switch over a Patroni cluster through its REST API. The cluster is
// read from /cluster (the first of `urls` that answers); hftguard refuses when Patroni is
// paused (the operator has the cluster) or the candidate is not a healthy replica, picks the
// least-lagged healthy replica when no candidate is named, and sends the request to the
// leader's own API when it answers (Patroni acts at once; a replica's API waits for the
// leader's next loop), else to the candidate's - the latter only when the old leader's
// PostgreSQL is proven unable to take writes (guardOldLeader). The step ends when /cluster
// shows the candidate as a running leader and a write on it succeeds.
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "hftguard/core/base64.hpp"
#include "hftguard/net/pg_conninfo.hpp"
#include "hftguard/net/worker_pool.hpp"

#include "kinds.hpp"
#include "patroni_cluster.hpp"
#include "pg_common.hpp"

namespace hftguard::actions::kinds {
namespace {

using nlohmann::json;


class Patroni final : public HttpAction {
 public:
  Patroni(const StepConfig& s, const PlanContext& c, ActionEnv& env)
      : HttpAction(env),
        step_(s),
        switchover_(s.params.str("operation") == "switchover"),
        candidate_(s.params.has("candidate") ? fill(s.params.str("candidate"), c) : ""),
        leader_(s.params.has("leader") ? fill(s.params.str("leader"), c) : ""),
        node_(c.node),
        oldFromPlan_(c.old_primary),
        proof_(planProof(c, s.params.flag("allow_unfenced"))),
        timer_(env.io) {}
  ~Patroni() override { cancel(); }

  std::string describe() const override {
    return fmt::format("Patroni {} {}-> {} via {}, then wait for a writable leader",
                       step_.params.str("operation"), leader_.empty() ? "" : leader_ + " ",
                       candidate_.empty() ? "the healthiest replica" : candidate_,
                       fmt::join(step_.params.list("urls"), ", "));
  }

  void check(Done done) override {
    if (proof_.refusal) return done(ActionResult::failure(*proof_.refusal));
    readCluster(0, [this, done](std::optional<Cluster> c, std::string why) {
      if (!c) return done(ActionResult::failure(why));
      const Member* to = nullptr;
      if (auto refusal = plan(*c, to); !refusal.empty()) {
        return done(ActionResult::failure(refusal));
      }
      done(ActionResult::success(fmt::format("would {} to {} ({})", step_.params.str("operation"),
                                             to->name, c->summary())));
    });
  }

  void run(Done done) override {
    pg_cancel_ = std::make_shared<PgCancel>();  // each attempt its own
    readCluster(0, [this, done](std::optional<Cluster> c, std::string why) {
      if (!c) return done(ActionResult::failure(why));
      const Member* to = nullptr;
      if (to = candidateAlreadyLeads(*c); to != nullptr) {
        // A retry after Patroni already acted, or Patroni's own failover got there first.
        target_ = to->name;
        return waitForLeader(done);
      }
      if (auto refusal = plan(*c, to); !refusal.empty()) {
        return done(ActionResult::failure(refusal));
      }
      target_ = to->name;
      const Member* leader = c->leader();
      if (leader != nullptr) old_ = leader->address();
      std::vector<std::string> leaderApi;
      if (leader && leader->isRunning() && !leader->api.empty()) leaderApi.push_back(leader->api);
      std::vector<std::string> apis = leaderApi;
      if (!to->api.empty()) apis.push_back(to->api);
      for (const auto& u : step_.params.list("urls")) apis.push_back(apiBase(u));
      const std::string leaderName = leader ? leader->name : "";
      const std::string oldPg = leader ? leader->address() : oldFromPlan_;
      guardOldLeader(oldPg, !leaderApi.empty(), [=, this](std::string refusal, bool proven) {
        if (!refusal.empty()) return done(ActionResult::failure(refusal));
        post(proven ? apis : leaderApi, 0, leaderName, done);
      });
    });
  }

  void cancel() override {
    timer_.cancel();
    life_ = std::make_shared<int>(0);  // a write check in flight finds its action gone
    pg_cancel_->cancel();              // and sends nothing more: its socket is shut
    HttpAction::cancel();
  }

  std::string lastSeen() const override { return seen_; }

 private:
  // Empty when the operation may go ahead (and `to` is the member to promote), else why not.
  std::string plan(const Cluster& c, const Member*& to) const {
    if (c.paused) {
      return "Patroni is paused (maintenance mode): the cluster is under manual control; "
             "resume it (patronictl resume) before an automated " +
             step_.params.str("operation");
    }
    const Member* leader = c.leader();
    if (switchover_ && leader == nullptr) {
      return "a switchover needs a running leader and the cluster has none (" + c.summary() +
             "); use operation failover";
    }
    if (!leader_.empty() && (leader == nullptr || leader->name != leader_)) {
      return fmt::format("the leader is {}, not {} as the step expects",
                         leader ? leader->name : "(none)", leader_);
    }
    const std::int64_t maxLag = step_.params.integer("max_lag_bytes");
    auto unhealthy = [&](const Member& m) -> std::string {
      if (m.isLeader()) return fmt::format("{} is already the leader", m.name);
      if (m.role != "replica" && m.role != "sync_standby")
        return fmt::format("{} is {}, not a replica", m.name, m.role);
      if (!m.isRunning()) return fmt::format("{} is {}, not running", m.name, m.state);
      if (m.nofailover) return fmt::format("{} is tagged nofailover", m.name);
      if (!m.lag) return fmt::format("{}'s replication lag is unknown", m.name);
      if (*m.lag > maxLag)
        return fmt::format("{} lags {} bytes, over max_lag_bytes {}", m.name, *m.lag, maxLag);
      return {};
    };
    if (!candidate_.empty()) {
      const Member* m = c.find(candidate_);
      if (m == nullptr) {
        return fmt::format("candidate {} is not a member of the cluster ({})", candidate_,
                           c.summary());
      }
      if (auto why = unhealthy(*m); !why.empty()) return "candidate is not healthy: " + why;
      to = m;
      return {};
    }
    std::string reasons;
    for (const auto& m : c.members) {
      if (auto why = unhealthy(m); !why.empty()) {
        if (!m.isLeader()) reasons += (reasons.empty() ? "" : "; ") + why;
      } else if (to == nullptr || *m.lag < *to->lag) {
        to = &m;
      }
    }
    if (to == nullptr) {
      return "no healthy replica to promote" + (reasons.empty() ? "" : ": " + reasons);
    }
    return {};
  }

  // Unreachable is not down: another member may be promoted only when the old leader's
  // PostgreSQL is proven unable to take writes (a fence earlier in the plan, allow_unfenced,
  // or it answers as a standby or refuses the connection). Otherwise the request goes to the
  // leader's own Patroni only, which demotes its PostgreSQL itself before handing over; a
  // killed Patroni beside a live postmaster must never see another member promoted.
  // `then(refusal, proven)`.
  void guardOldLeader(const std::string& address, bool leaderApi,
                      std::function<void(std::string, bool)> then) {
    if (proof_.refusal) return then(*proof_.refusal, false);
    if (proof_.proven) return then({}, true);
    const std::string how =
        "fence it in an earlier step or set allow_unfenced: true (unreachable is not down)";
    if (address.empty()) {
      if (leaderApi) return then({}, false);
      return then(
          "no leader in /cluster and no old primary to check: no proof that the old "
          "primary cannot take writes; " +
              how,
          false);
    }
    const auto colon = address.rfind(':');
    const std::string host = colon == std::string::npos ? address : address.substr(0, colon);
    std::int64_t port = 5432;
    if (colon != std::string::npos) {
      try {
        port = std::stoll(address.substr(colon + 1));
      } catch (const std::exception&) {
        port = 5432;
      }
    }
    const PgTarget target = pgTarget(step_.params, host, port, step_.timeout);
    std::weak_ptr<int> alive = life_;
    env_.workers.submit([=, this]() -> net::WorkerPool::Continuation {
      OldPrimary old = inspectOldPrimary(target);
      return [=, this] {
        if (alive.expired()) return;
        seen_ = old.detail;
        if (old.proven()) return then({}, true);
        if (leaderApi) {
          onlyLeader_ = old.detail;
          return then({}, false);
        }
        then(fmt::format("{}, and no running leader's Patroni to hand over: {}", old.detail, how),
             false);
      };
    });
  }

  const Member* candidateAlreadyLeads(const Cluster& c) const {
    if (candidate_.empty()) return nullptr;
    const Member* m = c.find(candidate_);
    return m != nullptr && m->isLeader() ? m : nullptr;
  }

  net::HttpRequest request(std::string method, const std::string& url, Duration timeout) const {
    net::HttpRequest r = stepRequest(step_, std::move(method), url, timeout);
    if (step_.params.has("api_username")) {
      const std::string password =
          step_.params.has("api_password") ? step_.params.secret("api_password").reveal() : "";
      r.headers.emplace_back(
          "Authorization",
          "Basic " + base64Encode(step_.params.str("api_username") + ":" + password));
    }
    return r;
  }

  // /cluster from the first of `urls`, starting at `i`, that answers.
  void readCluster(std::size_t i, std::function<void(std::optional<Cluster>, std::string)> then,
                   std::string errors = {}) {
    const auto& urls = step_.params.list("urls");
    if (i >= urls.size()) {
      return then(std::nullopt, "no Patroni API answered /cluster: " + errors);
    }
    const std::string url = apiBase(urls[i]) + "/cluster";
    const Duration perRequest = std::min<Duration>(step_.timeout, std::chrono::seconds(2));
    send(request("GET", url, perRequest), [this, i, then, errors, url](const net::HttpResponse& r) {
      std::string why;
      if (r.answered && r.status == 200) {
        if (auto c = parseCluster(r.body, why)) return then(std::move(c), {});
      } else {
        why = outcome(r);
      }
      readCluster(i + 1, then, errors + (errors.empty() ? "" : "; ") + url + ": " + why);
    });
  }

  void post(std::vector<std::string> apis, std::size_t i, const std::string& leader, Done done) {
    json body = {{"candidate", target_}};
    if (switchover_) {
      body["leader"] = leader;
      if (step_.params.has("scheduled_at")) body["scheduled_at"] = step_.params.str("scheduled_at");
    }
    const std::string url = apis[i] + (switchover_ ? "/switchover" : "/failover");
    // Patroni answers once the switch is done (seconds), but a dead host must not hold the
    // step there: the next API is tried after a short connect timeout.
    net::HttpRequest r = request("POST", url, step_.timeout);
    r.connect_timeout = std::min<Duration>(step_.timeout, std::chrono::seconds(2));
    r.body = body.dump();
    r.headers.emplace_back("Content-Type", "application/json");
    send(std::move(r), [this, apis, i, leader, done, url](const net::HttpResponse& resp) {
      if (!resp.answered) {
        if (i + 1 < apis.size()) return post(apis, i + 1, leader, done);
        return done(ActionResult::failure(
            fmt::format("no Patroni API took the request; last {}: {}{}", url, resp.error,
                        onlyLeader_.empty() ? ""
                                            : "; only the leader's own Patroni was asked, as " +
                                                  onlyLeader_ + " (unreachable is not down)")));
      }
      const std::string said = resp.body.substr(0, 200);
      if (resp.status == 202) {
        // Scheduled: Patroni acts at scheduled_at, long after this step's deadline.
        return done(ActionResult::success(fmt::format("Patroni: {} (not waited for)", said)));
      }
      if (resp.status != 200) {
        return done(ActionResult::failure(
            fmt::format("Patroni refused ({} from {}): {}", outcome(resp), url, said)));
      }
      waitForLeader(done);
    });
  }

  // Polls /cluster until the target runs as leader, then proves a write on it.
  void waitForLeader(Done done) {
    readCluster(0, [this, done](std::optional<Cluster> c, std::string why) {
      if (c) {
        seen_ = c->summary();
        const Member* m = c->find(target_);
        if (m != nullptr && m->isLeader() && m->isRunning()) return proveWritable(*m, done);
      } else {
        seen_ = why;
      }
      pollLater(done);
    });
  }

  // A wait that expired just before cancel() has its handler queued already, with success:
  // the life token, replaced by cancel(), keeps it from polling (and writing) again.
  void pollLater(Done done) {
    timer_.expires_after(step_.params.duration("poll_interval"));
    timer_.async_wait([this, done, alive = std::weak_ptr<int>(life_)](boost::system::error_code ec) {
      if (!ec && !alive.expired()) waitForLeader(done);
    });
  }

  void proveWritable(const Member& m, Done done) {
    const std::string conninfo = net::pgConninfo(step_.params, m.host, m.port, step_.timeout);
    const std::string table =
        step_.params.has("write_check_table") ? step_.params.str("write_check_table") : "";
    const std::string name = m.name;
    const std::string address = m.address();
    const std::string old = old_;
    const std::string node = node_;
    std::weak_ptr<int> alive = life_;
    std::shared_ptr<PgCancel> cancel = pg_cancel_;
    env_.workers.submit([=, this]() -> net::WorkerPool::Continuation {
      std::string error;
      try {
        pqxx::connection conn(conninfo);
        PgCancelScope scope(*cancel, conn);  // past the deadline, no write check is sent
        if (!scope.ok() || !cancel->begin("the write check on " + address)) {
          error = "cancelled at the step's deadline";
        } else {
          pqxx::nontransaction tx(conn);
          proveWrite(tx, table, node);
          cancel->confirmed();
        }
      } catch (const std::exception& e) {
        error = net::pgError(e);
      }
      return [=, this] {
        if (alive.expired()) return;
        if (error.empty()) {
          ActionResult r = ActionResult::success(
              fmt::format("{} ({}) leads the cluster and accepts writes", name, address));
          r.new_primary = address;
          if (!old.empty()) r.old_primary = old;
          return done(r);
        }
        // Patroni reports "running" a moment before PostgreSQL leaves recovery: poll on.
        seen_ =
            fmt::format("{} ({}) leads in /cluster but a write failed: {}", name, address, error);
        pollLater(done);
      };
    });
  }

  const StepConfig& step_;
  bool switchover_;
  std::string candidate_;
  std::string leader_;
  std::string node_;
  std::string target_;  // the member being promoted
  std::string old_;     // the old leader's host:port
  std::string seen_;
  std::string oldFromPlan_;  // the plan's {old_primary}, when /cluster lists no leader
  PlanProof proof_;
  std::string onlyLeader_;  // why only the leader's API may take the request
  boost::asio::steady_timer timer_;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
  std::shared_ptr<PgCancel> pg_cancel_ = std::make_shared<PgCancel>();
};

}  // namespace

std::unique_ptr<Action> makePatroni(const StepConfig& s, const PlanContext& c, ActionEnv& env) {
  return std::make_unique<Patroni>(s, c, env);
}

}  // namespace hftguard::actions::kinds

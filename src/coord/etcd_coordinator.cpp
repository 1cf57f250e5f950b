#include "hftguard/coord/etcd_coordinator.hpp"

#include <map>
#include <set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace hftguard::coord {
namespace {

using json = nlohmann::json;

std::optional<Roles> parseRoles(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  std::string why;
  auto s = stateFromJson(json{{"version", 1}, {"components", {{"c", j}}}}, &why);
  if (!s) return std::nullopt;
  return s->components.at("c");
}

std::string rolesText(const Roles& r) { return toJson(r).dump(); }

}  // namespace

std::string clusterPrefix(const config::Config& cfg) {
  std::string p = cfg.coordination.key_prefix;
  if (p.empty() || p.back() != '/') p += '/';
  return p + cfg.coordination.cluster + "/";
}

EtcdOptions etcdOptions(const config::Config& cfg) {
  EtcdOptions o;
  o.endpoints = cfg.coordination.endpoints;
  o.username = cfg.coordination.username;
  o.password = cfg.coordination.password;
  o.tls_verify = cfg.coordination.tls_verify;
  o.ca_file = cfg.coordination.ca_file;
  o.cert_file = cfg.coordination.cert_file;
  o.key_file = cfg.coordination.key_file;
  // A request may take a third of the TTL at most: renewals must fit inside it.
  o.timeout = config::leaseRequestTimeout(cfg.coordination.lease_ttl);
  return o;
}

// Renewals every ttl/3; every ttl/10 where a host self-fences, so that an etcd blip just
// before a renewal is due leaves nearly all of self_fence_after to recover in.
static Duration renewEvery(const config::Config& cfg) {
  const Duration ttl = cfg.coordination.lease_ttl;
  for (const auto& c : cfg.components) {
    if (!c.self_fence.empty()) return ttl / 10;
  }
  return ttl / 3;
}

struct EtcdCoordinator::Impl : std::enable_shared_from_this<Impl> {
  Impl(boost::asio::io_context& i, net::HttpClient& h, const Clock& c, const config::Config& cf,
       Hooks hk)
      : io(i),
        clock(c),
        cfg(cf),
        hooks(std::move(hk)),
        etcd(h, etcdOptions(cf)),
        base(clusterPrefix(cf)),
        ttl(cf.coordination.lease_ttl),
        margin(config::leaseMargin(ttl)),
        poll_every(std::min<Duration>(std::chrono::milliseconds(200), ttl / 4)),
        poll_timer(i),
        watch_timer(i),
        retry_every(std::min<Duration>(std::chrono::milliseconds(500), ttl / 10)),
        renew_every(renewEvery(cf)),
        renew_timer(i),
        expiry_timer(i),
        cutoff_timer(i) {}

  std::string leaderKey() const { return base + "leader"; }
  std::string rolesKey(const std::string& c) const { return base + "roles/" + c; }
  std::string planKey(const std::string& c) const { return base + "plans/" + c; }

  bool leadingNow() const { return leading && clock.now() < acting_until; }

  void setLeading(bool now, const std::string& why) {
    if (leading == now) return;
    leading = now;
    if (now) leader_name = cfg.node.name;
    if (hooks.leadership) hooks.leadership(now, leader_name, why);
  }

  // ---- reading the cluster's keys ----
  // A watch stream on the cluster's prefix delivers each change as it happens; a full read
  // every poll_every stays the bound whatever the stream does (a stream held by a member
  // that froze or lost its quorum is open but says nothing, and etcd's gateway cannot be
  // asked for progress). Both feed one cache of the keys, which never goes back to an
  // older revision.
  void poll() {
    if (stopped) return;
    etcd.range(base, true, [self = shared_from_this()](EtcdResult r) {
      if (self->stopped) return;
      if (!r.error.empty()) {
        if (r.error != self->last_error) spdlog::warn("etcd: {}", r.error);
        self->last_error = r.error;
      } else {
        self->last_error.clear();
        if (r.revision >= self->cache_rev) {
          self->cache.clear();
          for (const KeyValue& kv : r.kvs) self->cache[kv.key] = kv;
          self->cache_rev = r.revision;
          self->read(r);
        }
        if (!self->watching) self->startWatch();
      }
      self->poll_timer.expires_after(self->poll_every);
      self->poll_timer.async_wait([weak = std::weak_ptr(self)](boost::system::error_code ec) {
        if (auto s = weak.lock(); s && !ec) s->poll();
      });
    });
  }

  void startWatch() {
    if (stopped || watching) return;
    watching = true;
    watch_id = etcd.watch(
        base, cache_rev + 1, std::chrono::seconds(60),
        [weak = weak_from_this()](WatchUpdate u) {
          if (auto self = weak.lock(); self && !self->stopped) self->changed(u);
        },
        [weak = weak_from_this()](std::string why) {
          auto self = weak.lock();
          if (!self || self->stopped) return;
          self->watching = false;
          if (!why.empty() && why != self->last_watch_error) spdlog::warn("etcd: {}", why);
          self->last_watch_error = why;  // said once, not at every retry
          // Its span over: at once from where it was. Else after a pause; compacted, the
          // next full read starts it again from that read's revision.
          if (why.starts_with("compacted")) return;
          self->watch_timer.expires_after(why.empty() ? Duration::zero() : self->poll_every);
          self->watch_timer.async_wait([weak](boost::system::error_code ec) {
            if (auto s = weak.lock(); s && !ec) s->startWatch();
          });
        });
  }

  // A batch of changes. The cache moves to its last change's revision, not the batch's
  // header: a watch catching up gets its history in batches that all carry etcd's current
  // revision. A batch without changes (etcd's "created") moves nothing.
  void sawPlan(const std::string& component) {
    plan_seen_at[component] = clock.wallNow();
    plan_seen_at[""] = clock.wallNow();
  }

  void changed(const WatchUpdate& u) {
    if (u.events.empty()) return;
    for (const WatchEvent& e : u.events) {
      if (e.kv.mod_revision != 0 && e.kv.mod_revision <= cache_rev) continue;  // read already
      // A plan that came and went within one batch still ran.
      if (e.kv.key.starts_with(base + "plans/")) sawPlan(e.kv.key.substr(base.size() + 6));
      if (e.deleted) {
        cache.erase(e.kv.key);
      } else {
        cache[e.kv.key] = e.kv;
      }
    }
    std::int64_t last = cache_rev;
    for (const WatchEvent& e : u.events) last = std::max(last, e.kv.mod_revision);
    if (last == cache_rev) return;  // nothing newer than the cache
    cache_rev = last;
    EtcdResult r;
    r.succeeded = true;
    r.revision = cache_rev;
    for (const auto& [key, kv] : cache) r.kvs.push_back(kv);
    read(r);
  }

  void read(const EtcdResult& r) {
    std::string leader;
    std::int64_t leaderLease = 0;
    std::map<std::string, KeyValue> read_plans;
    std::string read_maintenance;
    std::map<std::string, std::string> read_daemons;
    std::set<std::string> read_stopped;
    for (const KeyValue& kv : r.kvs) {
      if (kv.key.starts_with(base + "daemons/")) {
        read_daemons[kv.key.substr(base.size() + 8)] = kv.value;
        continue;
      }
      if (kv.key.starts_with(base + "stopped/")) {
        read_stopped.insert(kv.key.substr(base.size() + 8));
        continue;
      }
      if (kv.key == base + "maintenance") {
        read_maintenance = kv.value;
        continue;
      }
      if (kv.key.starts_with(base + "plans/")) {
        read_plans[kv.key.substr(base.size() + 6)] = kv;
        continue;
      }
      if (kv.key == leaderKey()) {
        leader = kv.value;
        leaderLease = kv.lease;
        if (kv.value == cfg.node.name && kv.lease == lease_id) leader_rev = kv.create_revision;
        continue;
      }
      if (!kv.key.starts_with(base + "roles/")) continue;
      const std::string component = kv.key.substr(base.size() + 6);
      const config::ComponentConfig* c = cfg.findComponent(component);
      auto roles = parseRoles(kv.value);
      std::string why;
      if (c == nullptr || c->members.empty()) continue;
      if (!roles || !(roles = fitRoles(*c, *roles, &why))) {
        spdlog::error("etcd: {} is not usable roles: {}", kv.key, why.empty() ? "malformed" : why);
        continue;
      }
      adopt(component, *roles, kv.mod_revision);
    }
    leader_name = leader;
    // The plans as read, except where this daemon's own write is newer than this read.
    for (const auto& [component, rev] : plan_written) {
      if (rev <= r.revision) continue;
      if (auto it = plans.find(component); it != plans.end()) {
        read_plans[component] = it->second;
      } else {
        read_plans.erase(component);
      }
    }
    plans = std::move(read_plans);
    for (const auto& [component, kv] : plans) sawPlan(component);
    plans_read_at = r.revision;
    maintenance_text = std::move(read_maintenance);
    stopped_nodes = std::move(read_stopped);
    if (read_daemons != daemon_reports) {
      for (const auto& [node, text] : read_daemons) {
        seen_nodes.insert(node);
        last_reports[node] = text;
        gone_at.erase(node);
      }
      for (const auto& [node, text] : daemon_reports) {
        if (!read_daemons.count(node)) gone_at[node] = clock.now();
      }
      daemon_reports = std::move(read_daemons);
      if (hooks.observers) hooks.observers();
    }
    // Our own report gone while our lease lives (deleted by hand, or a write lost): again.
    if (!published_text.empty() && lease_id != 0 && !daemon_reports.count(cfg.node.name) &&
        !publishing) {
      published_text.clear();
      publish();
    }
    // The key is ours, bound to our live lease, but we do not act: our campaign's answer was
    // lost, or renewals answered late stopped us. etcd deletes a lease's keys when it
    // expires, so nobody else can lead meanwhile: take it up again (from the last renewal).
    if (!leading && lease_id != 0 && leader == cfg.node.name && leaderLease == lease_id) {
      extend(renewed_sent);
      if (clock.now() < acting_until) setLeading(true, "the leader key is still ours");
    }
    // Leading needs the key to be ours, bound to our lease: deleted or taken over, it is not.
    if (leading && (leader != cfg.node.name || leaderLease != lease_id)) {
      expiry_timer.cancel();
      setLeading(false, leader.empty() ? "the leader key is gone"
                                       : "the leader key now belongs to " + leader);
    }
    bool missing = false;
    for (const auto& c : cfg.components) {
      if (c.members.empty() || known.count(c.name)) continue;
      missing = true;
      createRoles(c);
    }
    roles_known = !missing;
    if (roles_known && !leading && leader.empty()) campaign();
  }

  void adopt(const std::string& component, const Roles& r, std::int64_t rev) {
    auto& k = known[component];
    if (rev <= k.second && k.second != 0) return;
    if (k.second != 0 && r.epoch < k.first.epoch) return;  // never backwards
    const bool changed = k.second == 0 || !(k.first == r);
    k = {r, rev};
    if (changed && hooks.roles) hooks.roles(component, r);
  }

  // The configured roles, where etcd has none yet: create-if-absent, by whoever is first.
  void createRoles(const config::ComponentConfig& c) {
    etcd.txn({{rolesKey(c.name), Compare::Target::CreateRevision, 0, {}}},
             {{Operation::Kind::Put, rolesKey(c.name), rolesText(initialRoles(c)), 0, false}}, {},
             [](EtcdResult r) {
               if (!r.error.empty()) spdlog::warn("etcd: initial roles not written: {}", r.error);
             });
  }

  // ---- the lease and the leader key ----
  void ensureLease(std::function<void()> then) {
    if (lease_id != 0) return then();
    if (granting) return;
    granting = true;
    const SteadyTime sent = clock.now();  // the lease lasts at least ttl from here
    etcd.grant(ttl, [self = shared_from_this(), then, sent](std::int64_t id, std::string error) {
      self->granting = false;
      if (self->stopped) return;
      if (id == 0) {
        spdlog::warn("etcd: no lease: {}", error);
        return;
      }
      self->lease_id = id;
      self->renewed_sent = sent;
      self->heard(sent);
      self->renew();
      then();
    });
  }

  void campaign() {
    if (campaigning || stopped) return;
    ensureLease([self = shared_from_this()] {
      if (self->campaigning || self->stopped) return;
      self->campaigning = true;
      const SteadyTime sent = self->clock.now();
      const std::string key = self->leaderKey();
      self->etcd.txn({{key, Compare::Target::CreateRevision, 0, {}}},
                     {{Operation::Kind::Put, key, self->cfg.node.name, self->lease_id, false}},
                     {{Operation::Kind::Range, key, {}, 0, false}},
                     [self, sent](EtcdResult r) {
                       self->campaigning = false;
                       if (self->stopped || !r.error.empty()) return;
                       const bool ours = r.succeeded ||
                                         (!r.kvs.empty() && r.kvs[0].value == self->cfg.node.name &&
                                          r.kvs[0].lease == self->lease_id);
                       if (!ours) {
                         self->leader_name = r.kvs.empty() ? "" : r.kvs[0].value;
                         return;
                       }
                       self->leader_rev = r.succeeded ? r.revision : r.kvs[0].create_revision;
                       // The lease was granted or renewed before `sent`: it lasts at least
                       // until granted-at + ttl; count from the last renewal sent.
                       self->extend(self->renewed_sent);
                       if (self->clock.now() < self->acting_until) {
                         self->setLeading(true, "won the election");
                       }
                       (void)sent;
                     });
    });
  }

  // A lease granted or renewed, sent at `sent`: the cut-off clock starts again from there.
  void heard(SteadyTime sent) {
    last_heard = sent;
    if (cut_off) {
      cut_off = false;
      if (hooks.cut_off) hooks.cut_off(false, "a lease was granted or renewed again", {});
    }
    armCutOff();
  }

  void armCutOff() {
    cutoff_timer.expires_at(last_heard + cfg.coordination.self_fence_after);
    cutoff_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      // Also while stopping: a daemon cut off as it stops must still fence in time.
      if (!self || ec || self->cut_off) return;
      self->cut_off = true;
      const bool held = self->renewed_sent != SteadyTime{};
      const std::string why =
          held ? fmt::format("no lease renewal has succeeded for {} (self_fence_after)",
                             formatDuration(self->cfg.coordination.self_fence_after))
               : fmt::format("no lease could be had from etcd for {} since the start "
                             "(self_fence_after)",
                             formatDuration(self->cfg.coordination.self_fence_after));
      if (self->hooks.cut_off) {
        self->hooks.cut_off(true, why, held ? self->renewed_sent + self->ttl : SteadyTime{});
      }
    });
  }

  // A renewal sent at `sent` that etcd answered: acting is safe until sent + ttl - margin.
  void extend(SteadyTime sent) {
    acting_until = sent + ttl - margin;
    expiry_timer.expires_at(acting_until);
    expiry_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!self || ec || !self->leading) return;
      self->setLeading(false, fmt::format("the lease was not renewed in time (last renewal "
                                          "sent {} ago)",
                                          formatDuration(self->ttl - self->margin)));
    });
  }

  void renew() {
    if (stopped || lease_id == 0) return;
    const SteadyTime sent = clock.now();
    etcd.keepAlive(lease_id, [self = shared_from_this(), sent](Duration left, std::string error) {
      if (self->stopped) return;
      const bool renewed = error.empty() && left > Duration::zero();
      if (renewed) {
        self->renewed_sent = sent;
        self->heard(sent);
        if (self->leading) self->extend(sent);
      } else if (error.empty()) {  // etcd says the lease is gone: so is the leadership
        self->lease_id = 0;
        self->renewed_sent = {};
        self->expiry_timer.cancel();
        self->setLeading(false, "the lease expired on etcd's side");
        self->publish();  // a new lease, and the report bound to it
      }
      // A renewal that failed is tried again soon (not a third of the TTL later): a blip of
      // etcd (an election) must not run the lease down to self_fence_after.
      self->renew_timer.expires_after(renewed ? self->renew_every : self->retry_every);
      self->renew_timer.async_wait([weak = std::weak_ptr(self)](boost::system::error_code ec) {
        if (auto s = weak.lock(); s && !ec) s->renew();
      });
    });
  }

  boost::asio::io_context& io;
  const Clock& clock;
  const config::Config& cfg;
  Hooks hooks;
  EtcdClient etcd;
  std::string base;
  Duration ttl;
  Duration margin;
  Duration poll_every;
  boost::asio::steady_timer poll_timer;
  boost::asio::steady_timer watch_timer;
  std::map<std::string, KeyValue> cache;  // the cluster's keys as last known
  std::int64_t cache_rev = 0;             // ... at this revision
  bool watching = false;
  std::uint64_t watch_id = 0;
  Duration retry_every;  // a failed renewal's next try
  Duration renew_every;  // ... and a successful one's
  boost::asio::steady_timer renew_timer;
  boost::asio::steady_timer expiry_timer;
  boost::asio::steady_timer cutoff_timer;
  SteadyTime last_heard{};  // the last lease grant or renewal etcd answered: when it was sent
  bool cut_off = false;
  std::map<std::string, std::string> daemon_reports;  // daemons/<node>, as last read
  std::set<std::string> seen_nodes;                   // ... ever, since start()
  std::set<std::string> stopped_nodes;                // stopped/<node>
  std::map<std::string, std::string> last_reports;    // each node's last report seen
  std::map<std::string, SteadyTime> gone_at;          // when a seen report went
  std::int64_t lease_id = 0;
  std::int64_t leader_rev = 0;
  SteadyTime renewed_sent{};
  SteadyTime acting_until{};
  bool leading = false;
  bool campaigning = false;
  bool granting = false;
  bool roles_known = false;
  bool stopped = false;
  std::string leader_name;
  std::string last_error;
  std::string last_watch_error;
  std::map<std::string, std::pair<Roles, std::int64_t>> known;  // roles and their revision
  std::map<std::string, KeyValue> plans;                   // plans/<component> as known
  std::map<std::string, WallTime> plan_seen_at;            // ... last seen, by component
  std::map<std::string, std::int64_t> plan_written;        // revision of our last change
  std::int64_t plans_read_at = 0;                          // the last read's revision
  std::optional<std::string> maintenance_text;             // the last read's ("" none)
  std::string report_text;                                 // what this daemon reports
  std::string published_text;                              // ... as last written
  std::int64_t published_lease = 0;                        // ... bound to this lease
  bool publishing = false;

  void publish() {
    if (stopped || publishing || report_text.empty()) return;
    if (report_text == published_text && published_lease == lease_id && lease_id != 0) return;
    ensureLease([self = shared_from_this()] {
      if (self->stopped || self->publishing || self->lease_id == 0) return;
      self->publishing = true;
      const std::string text = self->report_text;
      const std::int64_t lease = self->lease_id;
      self->etcd.txn({}, {{Operation::Kind::Put, self->base + "daemons/" + self->cfg.node.name,
                           text, lease, false},
                          {Operation::Kind::Delete, self->base + "stopped/" + self->cfg.node.name,
                           {}, 0, false}},
                     {}, [self, text, lease](EtcdResult r) {
                       self->publishing = false;
                       if (!r.error.empty()) return;  // again on the next report
                       self->published_text = text;
                       self->published_lease = lease;
                       self->publish();  // what changed meanwhile, at once
                     });
    });
  }
};

namespace {

class EtcdLease final : public Lease {
 public:
  explicit EtcdLease(std::weak_ptr<EtcdCoordinator::Impl> impl) : impl_(std::move(impl)) {}
  std::string holds(Duration span) const override {
    auto self = impl_.lock();
    if (!self || !self->leading) return "this daemon no longer leads";
    if (self->clock.now() + span >= self->acting_until) {
      return fmt::format("its leader lease may expire within the next {}", formatDuration(span));
    }
    return {};
  }

 private:
  std::weak_ptr<EtcdCoordinator::Impl> impl_;
};

}  // namespace

EtcdCoordinator::EtcdCoordinator(boost::asio::io_context& io, net::HttpClient& http,
                                 const Clock& clock, const config::Config& cfg, Hooks hooks)
    : impl_(std::make_shared<Impl>(io, http, clock, cfg, std::move(hooks))) {}

EtcdCoordinator::~EtcdCoordinator() {
  impl_->stopped = true;
  impl_->etcd.cancelAll();
}

void EtcdCoordinator::start() {
  impl_->last_heard = impl_->clock.now();  // never held a lease: counted from the start
  impl_->armCutOff();
  impl_->poll();
}

void EtcdCoordinator::stop(std::function<void(const std::string& error)> then) {
  Impl& s = *impl_;
  s.stopped = true;
  s.poll_timer.cancel();
  s.watch_timer.cancel();
  s.renew_timer.cancel();
  s.expiry_timer.cancel();
  s.setLeading(false, "stopping");
  s.etcd.cancelAll();
  // stopped/<node> first: the others then know this daemon's report went because it was
  // stopped, not because it was cut off and fenced itself.
  const std::int64_t lease = s.lease_id;
  s.etcd.txn({}, {{Operation::Kind::Put, s.base + "stopped/" + s.cfg.node.name,
                   "stopped by an operator", 0, false}},
             {}, [impl = impl_, lease, then](const EtcdResult& r) {
               // Cut off meanwhile (the self-fence has begun): told or not, it goes as a
               // cut-off daemon - its lease runs out by itself, after the fence.
               if (r.error.empty() && impl->cut_off) {
                 // Taken back (best effort), so that the others may take the lease's end for
                 // the fence it is; the lease is left to run out.
                 impl->etcd.txn({}, {{Operation::Kind::Delete,
                                      impl->base + "stopped/" + impl->cfg.node.name, {}, 0,
                                      false}},
                                {}, [then](const EtcdResult&) {
                                  then("cut off from etcd while stopping");
                                });
                 return;
               }
               if (!r.error.empty()) {
                 // Not revoked: the others must not see this report go before the fence
                 // (its lease runs out by itself, after the self-fence's deadline).
                 const std::string error =
                     fmt::format("stopped/{} not written: {}", impl->cfg.node.name, r.error);
                 spdlog::warn("etcd: {}", error);
                 return then(error);
               }
               impl->cutoff_timer.cancel();  // etcd knows: nothing to fence
               if (lease == 0) return then({});
               impl->etcd.revoke(lease, [then](const std::string& revoke_error) {
                 if (!revoke_error.empty()) {
                   spdlog::warn("etcd: lease not revoked ({}): it expires by itself",
                                revoke_error);
                 }
                 then({});
               });
             });
}

std::unique_ptr<Lease> EtcdCoordinator::acquire(const std::string& component, Grant& grant) {
  const Impl& s = *impl_;
  if (!s.leadingNow()) {
    grant = {false, {},
             s.leader_name.empty()
                 ? "no daemon leads the cluster (etcd unreachable or an election under way)"
                 : fmt::format("{} leads the cluster; this daemon stands by", s.leader_name)};
    return nullptr;
  }
  grant = {true, std::to_string(s.leader_rev),
           fmt::format("leader of cluster {} (lease {:x}) for {}", s.cfg.coordination.cluster,
                       s.lease_id, component)};
  return std::make_unique<EtcdLease>(impl_);
}

bool EtcdCoordinator::leading() const { return impl_->leadingNow(); }
std::string EtcdCoordinator::leader() const { return impl_->leader_name; }
bool EtcdCoordinator::rolesKnown() const { return impl_->roles_known; }

std::optional<Roles> EtcdCoordinator::roles(const std::string& component) const {
  auto it = impl_->known.find(component);
  if (it == impl_->known.end()) return std::nullopt;
  return it->second.first;
}

void EtcdCoordinator::commitFailover(const std::string& component, const std::string& from,
                                     const std::string& to, std::uint64_t from_epoch,
                                     LastFailover what,
                                     std::function<void(std::string, Roles)> done) {
  auto self = impl_;
  auto it = self->known.find(component);
  if (it == self->known.end()) return done("the roles were never read from etcd", {});
  Roles after = it->second.first;
  const std::int64_t rev = it->second.second;
  if (after.epoch == from_epoch + 1 && after.primary == to) return done("", after);  // applied
  if (std::string why = applyFailover(after, from, to, from_epoch, std::move(what)); !why.empty()) {
    return done(why, {});
  }
  if (!self->leadingNow()) return done("this daemon no longer leads the cluster", {});
  const std::string key = self->rolesKey(component);
  self->etcd.txn(
      {{self->leaderKey(), Compare::Target::Lease, self->lease_id, {}},
       {key, Compare::Target::ModRevision, rev, {}}},
      {{Operation::Kind::Put, key, rolesText(after), 0, false}},
      {{Operation::Kind::Range, key, {}, 0, false}},
      [self, component, after, to, from_epoch, done](EtcdResult r) {
        if (!r.error.empty()) return done(r.error, {});
        if (r.succeeded) {
          self->adopt(component, after, r.revision);
          return done("", after);
        }
        auto now = r.kvs.empty() ? std::nullopt : parseRoles(r.kvs[0].value);
        if (now && now->epoch == from_epoch + 1 && now->primary == to) {  // ours, answer lost
          self->adopt(component, *now, r.kvs[0].mod_revision);
          return done("", *now);
        }
        done("the etcd transaction's compare failed: this daemon no longer leads, or the roles "
             "changed meanwhile",
             {});
      });
}

bool EtcdCoordinator::plansKnown() const {
  return impl_->leadingNow() && impl_->leader_rev != 0 && impl_->plans_read_at >= impl_->leader_rev;
}

std::optional<WallTime> EtcdCoordinator::planSeenAt(const std::string& component) const {
  auto it = impl_->plan_seen_at.find(component);
  if (it == impl_->plan_seen_at.end()) return std::nullopt;
  return it->second;
}

void EtcdCoordinator::report(std::string text) {
  impl_->report_text = std::move(text);
  impl_->publish();
}

std::map<std::string, std::string> EtcdCoordinator::daemons() const {
  return impl_->daemon_reports;
}

Presence EtcdCoordinator::presence(const std::string& node) const {
  const Impl& s = *impl_;
  if (s.daemon_reports.count(node)) return Presence::Live;
  if (s.stopped_nodes.count(node)) return Presence::Stopped;
  return s.seen_nodes.count(node) ? Presence::Gone : Presence::NeverSeen;
}

std::optional<SteadyTime> EtcdCoordinator::goneAt(const std::string& node) const {
  auto it = impl_->gone_at.find(node);
  if (it == impl_->gone_at.end()) return std::nullopt;
  return it->second;
}

std::string EtcdCoordinator::lastReport(const std::string& node) const {
  auto it = impl_->last_reports.find(node);
  return it == impl_->last_reports.end() ? std::string() : it->second;
}

SteadyTime EtcdCoordinator::leaseExpiry() const {
  const Impl& s = *impl_;
  return s.renewed_sent == SteadyTime{} ? SteadyTime{} : s.renewed_sent + s.ttl;
}

int EtcdCoordinator::knownDaemons() const {
  std::set<std::string> all = impl_->seen_nodes;
  for (const auto& [node, text] : impl_->daemon_reports) all.insert(node);
  return static_cast<int>(all.size());
}

std::optional<std::string> EtcdCoordinator::maintenance() const {
  return impl_->maintenance_text;
}

void updateMaintenanceInEtcd(
    EtcdClient& etcd, const config::Config& cfg,
    std::function<std::string(std::vector<control::MaintenanceEntry>&)> change,
    std::function<void(std::string, std::vector<control::MaintenanceEntry>)> done) {
  const std::string key = clusterPrefix(cfg) + "maintenance";
  auto attempt = std::make_shared<std::function<void(int)>>();
  // The calls in flight hold the retry loop; it holds itself only weakly (no cycle).
  *attempt = [&etcd, key, change, done, weak = std::weak_ptr(attempt)](int left) {
    auto again = weak.lock();
    if (!again) return;
    etcd.range(key, false, [&etcd, key, change, done, attempt = again, left](EtcdResult r) {
      if (!r.error.empty()) return done("etcd: " + r.error, {});
      std::vector<control::MaintenanceEntry> entries;
      std::int64_t rev = 0;
      if (!r.kvs.empty()) {
        std::string why;
        auto read = control::parseMaintenance(r.kvs[0].value, &why);
        if (!read) return done(key + ": " + why, {});
        entries = std::move(*read);
        rev = r.kvs[0].mod_revision;
      }
      if (std::string why = change(entries); !why.empty()) return done(why, entries);
      etcd.txn({{key, Compare::Target::ModRevision, rev, {}}},
               {{Operation::Kind::Put, key, control::maintenanceText(entries), 0, false}}, {},
               [entries, done, attempt, left](EtcdResult t) {
                 if (!t.error.empty()) return done("etcd: " + t.error, {});
                 if (t.succeeded) return done("", entries);
                 if (left > 0) return (*attempt)(left - 1);
                 done("the maintenance windows kept changing; try again", {});
               });
    });
  };
  (*attempt)(3);
}

std::optional<KeyValue> EtcdCoordinator::plan(const std::string& component) const {
  auto it = impl_->plans.find(component);
  if (it == impl_->plans.end()) return std::nullopt;
  return it->second;
}

void EtcdCoordinator::writePlan(const std::string& component, std::string text,
                                std::int64_t expect,
                                std::function<void(std::string, std::int64_t)> done) {
  auto self = impl_;
  if (!self->leadingNow()) return done("this daemon no longer leads the cluster", 0);
  const std::string key = self->planKey(component);
  self->etcd.txn({{self->leaderKey(), Compare::Target::Lease, self->lease_id, {}},
                  {key, Compare::Target::ModRevision, expect, {}}},
                 {{Operation::Kind::Put, key, text, 0, false}}, {},
                 [self, component, key, text, done](EtcdResult r) {
                   if (!r.error.empty()) return done("etcd: " + r.error, 0);
                   if (!r.succeeded) {
                     return done("the etcd transaction's compare failed: this daemon no longer "
                                 "leads, or the plan's journal changed meanwhile",
                                 0);
                   }
                   self->plans[component] = {key, text, r.revision, r.revision, 0};
                   self->plan_written[component] = r.revision;
                   done("", r.revision);
                 });
}

void EtcdCoordinator::removePlan(const std::string& component, std::int64_t expect,
                                 std::function<void(std::string)> done) {
  auto self = impl_;
  if (!self->leadingNow()) return done("this daemon no longer leads the cluster");
  const std::string key = self->planKey(component);
  self->etcd.txn({{self->leaderKey(), Compare::Target::Lease, self->lease_id, {}},
                  {key, Compare::Target::ModRevision, expect, {}}},
                 {{Operation::Kind::Delete, key, {}, 0, false}}, {},
                 [self, component, done](EtcdResult r) {
                   if (!r.error.empty()) return done("etcd: " + r.error);
                   if (!r.succeeded) {
                     return done("the etcd transaction's compare failed: this daemon no longer "
                                 "leads, or the plan's journal changed meanwhile");
                   }
                   self->plans.erase(component);
                   self->plan_written[component] = r.revision;
                   done("");
                 });
}

void dropPlanInEtcd(EtcdClient& etcd, const config::Config& cfg, const std::string& component,
                    std::int64_t revision, std::function<void(std::string)> done) {
  const std::string key = clusterPrefix(cfg) + "plans/" + component;
  etcd.txn({{key, Compare::Target::ModRevision, revision, {}}},
           {{Operation::Kind::Delete, key, {}, 0, false}}, {}, [done](EtcdResult r) {
             if (!r.error.empty()) return done("etcd: " + r.error);
             if (!r.succeeded) return done("the plan's journal changed meanwhile: read it again");
             done("");
           });
}

void readClusterInEtcd(EtcdClient& etcd, const config::Config& cfg,
                       std::function<void(std::string, ClusterView)> done) {
  const std::string base = clusterPrefix(cfg);
  etcd.range(base, true, [&cfg, base, done](EtcdResult r) {
    if (!r.error.empty()) return done("etcd: " + r.error, {});
    ClusterView view;
    for (const auto& c : cfg.components) {
      if (!c.members.empty()) view.roles[c.name] = initialRoles(c);
    }
    for (const KeyValue& kv : r.kvs) {
      const std::string rest = kv.key.substr(base.size());
      if (rest == "leader") view.leader = kv.value;
      if (rest.starts_with("plans/")) view.plans[rest.substr(6)] = kv;
      if (rest.starts_with("daemons/")) view.daemons[rest.substr(8)] = kv.value;
      if (!rest.starts_with("roles/")) continue;
      const config::ComponentConfig* c = cfg.findComponent(rest.substr(6));
      if (c == nullptr || c->members.empty()) continue;
      std::string why;
      auto roles = parseRoles(kv.value);
      if (roles) roles = fitRoles(*c, *roles, &why);
      if (!roles) {
        view.problems.push_back(kv.key + ": " + (why.empty() ? "not roles" : why));
        view.roles.erase(c->name);  // unknown, never the configured ones in its place
        continue;
      }
      view.roles[c->name] = *roles;
    }
    done("", std::move(view));
  });
}

void readPlanInEtcd(EtcdClient& etcd, const config::Config& cfg, const std::string& component,
                    std::function<void(std::string, std::optional<KeyValue>)> done) {
  etcd.range(clusterPrefix(cfg) + "plans/" + component, false, [done](EtcdResult r) {
    if (!r.error.empty()) return done("etcd: " + r.error, std::nullopt);
    if (r.kvs.empty()) return done("", std::nullopt);
    done("", r.kvs.front());
  });
}

void updateRolesInEtcd(EtcdClient& etcd, const config::Config& cfg,
                       const config::ComponentConfig& c, std::function<std::string(Roles&)> change,
                       std::function<void(std::string, Roles)> done) {
  const std::string key = clusterPrefix(cfg) + "roles/" + c.name;
  auto attempt = std::make_shared<std::function<void(int)>>();
  // The calls in flight hold the retry loop; it holds itself only weakly (no cycle).
  *attempt = [&etcd, &c, key, change, done, weak = std::weak_ptr(attempt)](int left) {
    auto again = weak.lock();
    if (!again) return;
    etcd.range(key, false, [&etcd, &c, key, change, done, attempt = again, left](EtcdResult r) {
      if (!r.error.empty()) return done(r.error, {});
      std::optional<Roles> roles = initialRoles(c);
      std::int64_t rev = 0;
      std::string why;
      if (!r.kvs.empty()) {
        rev = r.kvs[0].mod_revision;
        roles = parseRoles(r.kvs[0].value);
        if (roles) roles = fitRoles(c, *roles, &why);
        if (!roles) return done(why.empty() ? key + " is not roles" : why, {});
      }
      if (why = change(*roles); !why.empty()) return done(why, {});
      etcd.txn({{key, Compare::Target::ModRevision, rev, {}}},
               {{Operation::Kind::Put, key, rolesText(*roles), 0, false}}, {},
               [roles = *roles, done, attempt, left](EtcdResult t) {
                 if (!t.error.empty()) return done(t.error, {});
                 if (t.succeeded) return done("", roles);
                 if (left > 0) return (*attempt)(left - 1);
                 done("the roles kept changing; try again", {});
               });
    });
  };
  (*attempt)(3);
}

}  // namespace hftguard::coord

#include "plan_store.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "hftguard/coord/etcd_coordinator.hpp"
#include "hftguard/events/event.hpp"

#include "plan_keeper.hpp"
#include "roles.hpp"

namespace hftguard::cli {

bool PlanStore::there(const std::string& component) const {
  std::string unreadable;
  return read(component, &unreadable).has_value() || !unreadable.empty();
}

namespace {

// A file per component beside its lock (plan_journal.hpp), written on the disk thread.
class LocalPlanStore final : public PlanStore {
 public:
  LocalPlanStore(std::string lock_dir, net::WorkerPool& disk)
      : dir_(std::move(lock_dir)), disk_(disk) {}

  bool known() const override { return true; }
  std::optional<actions::PlanJournal> read(const std::string& component,
                                           std::string* error) const override {
    return actions::readJournal(dir_, component, error);
  }
  std::string where(const std::string& component) const override {
    return actions::journalPath(dir_, component);
  }
  bool resumesItself() const override { return false; }
  // A failed plan's journal is removed at its end; one left behind holds the component at
  // the next start (a local journal is never resumed without an operator).
  void attach(actions::RunRequest& request, const actions::PlanJournal* taken_over) override {
    request.progress = journalTo(dir_, request, disk_);
    request.tidy = journalRemover(dir_, request.component, disk_);
    request.admit = bothAdmit(taken_over ? admitSameJournal(dir_, *taken_over)
                                         : admitWithoutJournal(dir_, request.component),
                              std::move(request.admit));
  }
  void drop(const actions::PlanJournal& j, std::function<void(std::string)> done) override {
    disk_.submit([dir = dir_, j, done = std::move(done)] {
      std::string why;
      try {
        const auto now = actions::readJournal(dir, j.component, &why);
        if (now && (now->steps_done != j.steps_done || now->started != j.started)) {
          why = "the journal changed meanwhile";
        } else if (why.empty()) {
          actions::removeJournal(dir, j.component, &why);
        }
      } catch (const std::exception& e) {
        why = e.what();
      }
      return net::WorkerPool::Continuation([done, why] { done(why); });
    });
  }

 private:
  std::string dir_;
  net::WorkerPool& disk_;
};

// plans/<component> in etcd, written by the leader only.
class EtcdPlanStore final : public PlanStore {
 public:
  explicit EtcdPlanStore(coord::EtcdCoordinator& etcd) : etcd_(etcd) {}

  bool known() const override { return etcd_.plansKnown(); }
  std::optional<actions::PlanJournal> read(const std::string& component,
                                           std::string* error) const override {
    auto kv = etcd_.plan(component);
    if (!kv) return std::nullopt;
    std::string why;
    auto j = actions::parseJournal(kv->value, component, &why);
    if (!j) {
      if (error != nullptr) *error = kv->key + ": " + why;
      return std::nullopt;
    }
    j->revision = kv->mod_revision;
    return j;
  }
  std::string where(const std::string& component) const override {
    auto kv = etcd_.plan(component);
    return kv ? kv->key : "etcd plans/" + component;
  }
  bool resumesItself() const override { return true; }

  void attach(actions::RunRequest& request, const actions::PlanJournal* taken_over) override {
    // What this run's writes compare on (the key's revision) and last wrote, shared by its
    // hooks; the journal text is rebuilt from the context at each write.
    struct Shared {
      std::int64_t revision = 0;
      actions::PlanJournal journal;
    };
    auto state = std::make_shared<Shared>();
    state->revision = taken_over ? taken_over->revision : 0;
    actions::PlanJournal& base = state->journal;
    base.component = request.component;
    base.plan = request.plan->name;
    base.trigger = request.trigger;
    base.node = request.context.node;
    base.pid = static_cast<long>(::getpid());
    if (taken_over != nullptr) base.started = taken_over->started;
    if (request.first_failure) base.first_failure = events::formatTimestamp(*request.first_failure);
    auto write = [&etcd = etcd_, state](actions::RunRequest::Kept kept) {
      etcd.writePlan(state->journal.component, actions::journalText(state->journal),
                     state->revision, [state, kept](std::string error, std::int64_t written) {
                       if (error.empty()) state->revision = written;
                       kept(error.empty() ? "" : "plan journal in etcd: " + error);
                     });
    };
    request.progress = [state, write](std::size_t done, const std::string& last,
                                      const actions::PlanContext& ctx,
                                      actions::RunRequest::Kept kept) {
      journalProgress(state->journal, done, last, ctx);
      write(std::move(kept));
    };
    request.failing = [state, write](const std::string& step, const std::string& why,
                                     const actions::PlanContext& ctx,
                                     actions::RunRequest::Kept kept) {
      state->journal.failed = step + ": " + why;
      state->journal.old_primary_fenced = ctx.old_primary_fenced;
      state->journal.fence_failed = ctx.fence_failed;
      write(std::move(kept));
    };
    request.tidy = [&etcd = etcd_, state](actions::RunRequest::Written written) {
      const std::string component = state->journal.component;
      if (state->revision == 0) return written();
      etcd.removePlan(component, state->revision, [component, written](const std::string& error) {
        // Left behind, it is found by whoever leads: a completed failover is in the roles (or
        // every step is done), a failed one says so - neither is run again.
        if (!error.empty())
          spdlog::error("{}: plan journal not removed from etcd: {}", component, error);
        written();
      });
    };
    request.admit = bothAdmit(
        [this, component = request.component,
         rev = taken_over ? taken_over->revision : 0]() -> std::string {
          if (!etcd_.plansKnown()) {
            return "the plans in flight have not been read from etcd since this daemon became "
                   "leader";
          }
          auto kv = etcd_.plan(component);
          if (rev == 0 && kv) {
            return "the previous leader's plan for " + component + " is in etcd (" + kv->key +
                   "): it is taken up, never run again from the top";
          }
          if (rev != 0 && (!kv || kv->mod_revision != rev)) {
            return "the interrupted plan's journal changed in etcd meanwhile";
          }
          return {};
        },
        std::move(request.admit));
  }

  void drop(const actions::PlanJournal& j, std::function<void(std::string)> done) override {
    etcd_.removePlan(j.component, j.revision, std::move(done));
  }

 private:
  coord::EtcdCoordinator& etcd_;
};

}  // namespace

std::unique_ptr<PlanStore> makeLocalPlanStore(std::string lock_dir, net::WorkerPool& disk) {
  return std::make_unique<LocalPlanStore>(std::move(lock_dir), disk);
}
std::unique_ptr<PlanStore> makeEtcdPlanStore(coord::EtcdCoordinator& etcd) {
  return std::make_unique<EtcdPlanStore>(etcd);
}

}  // namespace hftguard::cli

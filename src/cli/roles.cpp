#include "roles.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hftguard/events/event.hpp"

namespace hftguard::cli {

std::string stateFilePath(const config::Config& cfg) {
  const auto slash = cfg.maintenance_path.rfind('/');
  return (slash == std::string::npos ? std::string(".") : cfg.maintenance_path.substr(0, slash)) +
         "/cluster_state.json";
}

std::optional<coord::Roles> currentRoles(const config::ComponentConfig& c,
                                         const coord::StateFile& file, std::string* why) {
  auto state = file.read(why);
  if (!state) return std::nullopt;
  auto it = state->components.find(c.name);
  if (it == state->components.end()) return coord::initialRoles(c);
  return coord::fitRoles(c, it->second, why);
}

std::string fillFromRoles(const config::ComponentConfig& c, const coord::Roles& roles,
                          actions::PlanContext& ctx) {
  const std::string to = roles.candidate();
  if (to.empty()) {
    return fmt::format("no standby of {} is ready to promote ({} fenced: after rebuilding one, "
                       "`hftguard member {} MEMBER --ready`)",
                       c.name, fmt::join(roles.fenced, ", "), c.name);
  }
  ctx.old_primary = roles.primary;
  ctx.new_primary = to;
  ctx.epoch = roles.epoch + 1;
  ctx.members.clear();
  for (auto [role, name] : {std::pair{"old_primary", roles.primary}, {"new_primary", to}}) {
    if (const config::MemberConfig* m = c.findMember(name)) {
      for (const auto& [k, v] : m->values) ctx.members[fmt::format("{}.{}", role, k)] = v;
    }
  }
  return {};
}

std::string memberOf(const actions::PlanContext& ctx, const std::string& role) {
  auto it = ctx.members.find(role + ".name");
  return it == ctx.members.end() ? std::string() : it->second;
}

std::function<std::string()> admitSameRoles(const config::ComponentConfig& c,
                                            coord::StateFile file,
                                            const actions::PlanContext& ctx, bool resumed,
                                            bool any_standby) {
  return [&c, file = std::move(file), ctx, resumed, any_standby]() -> std::string {
    std::string why;
    auto now = currentRoles(c, file, &why);
    if (!now) return "the cluster state cannot be read: " + why;
    return sameRoles(*now, ctx, resumed, any_standby);
  };
}

std::string sameRoles(const coord::Roles& now, const actions::PlanContext& ctx, bool resumed,
                      bool any_standby) {
  const std::string from = memberOf(ctx, "old_primary");
  const std::string to = memberOf(ctx, "new_primary");
  // From the top: the roles still those it was decided on, its target still the candidate
  // (not fenced by an operator meanwhile). Resumed: the same, or already moved to its own
  // outcome (the commit landed, the journal's removal did not).
  const bool standing = std::find(now.standbys.begin(), now.standbys.end(), to) !=
                        now.standbys.end();
  if (now.epoch + 1 == ctx.epoch && now.primary == from &&
      (resumed || any_standby ? standing : now.candidate() == to)) {
    return {};
  }
  if (resumed && now.epoch == ctx.epoch && now.primary == to) return {};
  return fmt::format("the roles moved since this failover was decided ({} -> {} at epoch {}; "
                     "now {} primary at epoch {}, candidate {})",
                     from, to, ctx.epoch - 1, now.primary, now.epoch,
                     now.candidate().empty() ? "none" : now.candidate());
}

decltype(actions::RunRequest::commit) commitToFile(
    const config::ComponentConfig& c, coord::StateFile file, net::WorkerPool& disk,
    const Clock& clock, std::string trigger, std::function<void(const coord::Roles&)> applied) {
  return [&c, file = std::move(file), &disk, &clock, trigger = std::move(trigger),
          applied = std::move(applied)](const actions::PlanContext& ctx,
                                        actions::RunRequest::Committed committed) {
    if (ctx.epoch == 0) {  // a journal from before the roles were tracked: nothing to compare
      return committed("the plan did not start from tracked roles; set them with `hftguard member`",
                       nlohmann::json::object());
    }
    // The members the failover was decided between, as filled from the roles: a step may
    // have replaced {old_primary}/{new_primary} with what it found (a Patroni leader's address).
    const std::string from = memberOf(ctx, "old_primary");
    const std::string to = memberOf(ctx, "new_primary");
    coord::LastFailover what{from, to, events::formatTimestamp(clock.wallNow()), trigger};
    disk.submit([&c, file, ctx, from, to, what, committed,
                 applied]() -> net::WorkerPool::Continuation {
      coord::Roles after;
      std::string why;
      try {
        why = file.update([&](coord::ClusterState& s) {
          auto it = s.components.find(c.name);
          std::string bad;
          auto r = it == s.components.end() ? std::optional(coord::initialRoles(c))
                                            : coord::fitRoles(c, it->second, &bad);
          if (!r) return bad;
          if (r->epoch == ctx.epoch && r->primary == to) {  // already applied
            after = *r;
            return std::string();
          }
          if (auto e = coord::applyFailover(*r, from, to, ctx.epoch - 1, what);
              !e.empty()) {
            return e;
          }
          after = *r;
          s.components[c.name] = *r;
          return std::string();
        });
      } catch (const std::exception& e) {
        why = e.what();
      }
      return [why, after, committed, applied] {
        nlohmann::json f = nlohmann::json::object();
        if (why.empty()) {
          f = {{"new_primary", after.primary}, {"epoch", after.epoch}, {"fenced", after.fenced}};
          applied(after);
        }
        committed(why, std::move(f));
      };
    });
  };
}

std::function<std::string()> bothAdmit(std::function<std::string()> a,
                                       std::function<std::string()> b) {
  if (!a) return b;
  if (!b) return a;
  return [a = std::move(a), b = std::move(b)] {
    std::string why = a();
    return why.empty() ? b() : why;
  };
}

}  // namespace hftguard::cli

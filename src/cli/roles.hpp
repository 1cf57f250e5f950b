#pragma once
// Private to the CLI: the cluster state as the daemon and the commands use it with
// `coordination: local` - the state file next to the plan locks. A plan of a component with
// members gets its roles from here, is admitted only while they still hold, and moves them
// when it completes (under the component's lock, so the daemon and an operator's command
// never both move them).

#include <functional>
#include <string>

#include "hftguard/actions/runner.hpp"
#include "hftguard/config/config.hpp"
#include "hftguard/coord/state_file.hpp"
#include "hftguard/core/clock.hpp"
#include "hftguard/net/worker_pool.hpp"

namespace hftguard::cli {

// <state directory>/cluster_state.json (the directory of the maintenance file).
std::string stateFilePath(const config::Config& cfg);

// The component's roles now: the state file's, fitted to the config, or the configured ones
// when the file has none. Empty optional (why) when the file cannot be read or names a
// primary that is not a member.
std::optional<coord::Roles> currentRoles(const config::ComponentConfig& c,
                                         const coord::StateFile& file, std::string* why);

// Fills a plan's context from the roles: {old_primary} the primary, {new_primary} the
// candidate, {epoch} the next epoch, each member's values ({new_primary.api}). Returns why no
// failover can run (no ready standby), "" when it can.
std::string fillFromRoles(const config::ComponentConfig& c, const coord::Roles& roles,
                          actions::PlanContext& ctx);

// The member a context was filled with for `role` ("old_primary"/"new_primary"): kept apart
// from {old_primary}/{new_primary}, which a step may replace with what it found.
std::string memberOf(const actions::PlanContext& ctx, const std::string& role);

// RunRequest::admit: refuses while the state file's roles are not the ones the context was
// filled from (a failover completed meanwhile, or its target was fenced: this one would
// promote the wrong member). `resumed`: the roles may also already show its own outcome.
// `any_standby`: its target was chosen (a switchover's --candidate): any ready standby, not
// only the candidate.
std::function<std::string()> admitSameRoles(const config::ComponentConfig& c,
                                            coord::StateFile file,
                                            const actions::PlanContext& ctx, bool resumed,
                                            bool any_standby = false);

// "" when `now` still allows the failover the context was filled for (see admitSameRoles).
std::string sameRoles(const coord::Roles& now, const actions::PlanContext& ctx, bool resumed,
                      bool any_standby = false);

// RunRequest::commit: applies the completed failover to the state file on `disk`;
// `applied(roles)` runs on the loop after it was written.
decltype(actions::RunRequest::commit) commitToFile(
    const config::ComponentConfig& c, coord::StateFile file, net::WorkerPool& disk,
    const Clock& clock, std::string trigger, std::function<void(const coord::Roles&)> applied);

// Stamps an admit onto one that exists: both must agree.
std::function<std::string()> bothAdmit(std::function<std::string()> a,
                                       std::function<std::string()> b);

}  // namespace hftguard::cli

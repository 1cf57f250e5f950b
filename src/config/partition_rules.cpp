#include "partition_rules.hpp"

#include <fmt/format.h>

namespace hftguard::config::detail {
namespace {

YAML::Mark markOf(const Location& l) {
  YAML::Mark m;
  m.line = l.line - 1;
  m.column = l.column - 1;
  return m;
}

}  // namespace

void checkPartitionRules(ReaderContext& ctx, const Config& cfg) {
  const CoordinationConfig& co = cfg.coordination;
  const bool etcd = co.type == "etcd";
  if (etcd && co.self_fence_after < minSelfFenceAfter(co.lease_ttl)) {
    ctx.diag.error(markOf(co.self_fence_after_where),
                   fmt::format("self_fence_after: {} is shorter than one missed renewal ({} with "
                               "lease_ttl {}): a renewal that is only slow would fence the "
                               "primary",
                               formatDuration(co.self_fence_after),
                               formatDuration(minSelfFenceAfter(co.lease_ttl)),
                               formatDuration(co.lease_ttl)));
  }
  for (const ComponentConfig& c : cfg.components) {
    if (c.self_fence.empty()) continue;
    const YAML::Mark at = markOf(c.self_fence_where);
    const std::string where = "components." + c.name + ".self_fence";
    if (!etcd) {
      ctx.diag.error(at, where + ": needs coordination type etcd (it runs when the daemon on "
                                 "the primary's host loses etcd)");
      continue;
    }
    if (c.members.empty()) {
      ctx.diag.error(at, where + ": fences the primary member from its own host; " + c.name +
                             " has no members");
      continue;
    }
    for (const MemberConfig& m : c.members) {
      if (!m.node().empty()) continue;
      ctx.diag.error(markOf(m.where),
                     fmt::format("components.{}.members.{}: self_fence needs `node` (the "
                                 "hftguard node that runs on this member's host)",
                                 c.name, m.name));
    }
    const PlanConfig* plan = cfg.findPlan(c.self_fence);
    if (plan == nullptr) continue;  // reported where it is named
    const Duration budget = planBudget(*plan);
    const Duration margin = leaseMargin(co.lease_ttl);
    if (co.self_fence_after + budget + margin > co.lease_ttl) {
      ctx.diag.error(
          at, fmt::format("{}: plan {} can take {}; started {} after the last renewal it could "
                          "end after the lease may expire (lease_ttl {} less a {} margin), when "
                          "the other side may promote: shorten its steps, lower "
                          "self_fence_after or raise lease_ttl",
                          where, plan->name, formatDuration(budget),
                          formatDuration(co.self_fence_after), formatDuration(co.lease_ttl),
                          formatDuration(margin)));
    }
  }
}

}  // namespace hftguard::config::detail

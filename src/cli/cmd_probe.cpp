// hftguard probe [--config F] COMPONENT/CHECK | --all [--json]: runs checks once, now, and prints what
// the daemon would see - what an operator types at 3 a.m.
#include <cmath>
#include <ostream>

#include <fmt/ostream.h>

#include "hftguard/events/event.hpp"
#include "hftguard/probes/scheduler.hpp"

#include "commands.hpp"
#include "runtime.hpp"

namespace hftguard::cli {
namespace {

std::string observations(const probes::ProbeResult& r) {
  std::string out;
  for (const auto& o : r.observed) {
    // Whole numbers (bytes, counts, timestamps) in full; the rest to six significant digits.
    const bool whole = o.value == std::floor(o.value) && std::fabs(o.value) < 1e15;
    out += whole ? fmt::format(" {}={}", o.name, static_cast<long long>(o.value))
                 : fmt::format(" {}={:.6g}", o.name, o.value);
  }
  return out;
}

// The keys a decision's evidence uses for a sample (events.md), and where the check is.
nlohmann::json resultJson(const probes::ProbeResult& r) {
  nlohmann::json observed = nlohmann::json::object();
  for (const auto& o : r.observed) observed[o.name] = o.value;
  return {{"component", r.component},
          {"check", r.check},
          {"type", r.type},
          {"layer", config::toString(r.layer)},
          {"informational", r.informational},
          {"status", probes::toString(r.status)},
          {"latency_ms", std::chrono::duration<double, std::milli>(r.latency).count()},
          {"reason", r.reason},
          {"observed", observed},
          {"ts", events::formatTimestamp(r.at)}};
}

}  // namespace

void printResult(std::ostream& out, const probes::ProbeResult& r) {
  fmt::print(out, "{:<36} {:<10} {:<8} {:>9.1f}ms  {}{}\n", r.component + "/" + r.check, r.type,
             probes::toString(r.status),
             std::chrono::duration<double, std::milli>(r.latency).count(), r.reason,
             r.observed.empty() ? "" : "  [" + observations(r).substr(1) + "]");
}

int cmdProbe(const Args& args, std::ostream& out, std::ostream& err) {
  const bool all = args.flag("all");
  if (all == !args.positional.empty()) {
    err << "hftguard probe: name one COMPONENT/CHECK, or give --all\n";
    return kExitUsage;
  }
  auto cfg = loadOrReport(args.config, err);
  if (!cfg) return kExitFailed;
  std::vector<probes::CheckRef> selected;
  for (const probes::CheckRef& ref : probes::allChecks(*cfg)) {
    if (all || ref.component->name + "/" + ref.check->name == args.positional.front()) {
      selected.push_back(ref);
    }
  }
  if (selected.empty()) {
    err << "hftguard probe: no check '" << args.positional.front()
        << "' (checks are named COMPONENT/CHECK; see hftguard check-config)\n";
    return kExitUsage;
  }
  Runtime rt(*cfg);
  std::vector<std::unique_ptr<probes::CheckRunner>> runners;
  std::vector<probes::ProbeResult> results;
  for (const probes::CheckRef& ref : selected) {
    runners.push_back(std::make_unique<probes::CheckRunner>(rt.env, ref));
    runners.back()->run(rt.clock.now(), [&](const probes::ProbeResult& r) {
      results.push_back(r);
      // Done when every check answered: a check's kept connection (Redis) still has a
      // read pending, so the loop would never run out of work by itself.
      if (results.size() == selected.size()) rt.io.stop();
    });
  }
  rt.io.run();
  // Config order, not completion order.
  bool healthy = true;
  nlohmann::json json = nlohmann::json::array();
  for (const probes::CheckRef& ref : selected) {
    for (const auto& r : results) {
      if (r.component != ref.component->name || r.check != ref.check->name) continue;
      if (args.json()) {
        json.push_back(resultJson(r));
      } else {
        printResult(out, r);
      }
      healthy = healthy && (r.ok() || r.informational);
    }
  }
  if (args.json()) printJson(out, {{"healthy", healthy}, {"results", json}});
  return healthy ? kExitOk : kExitFailed;
}

}  // namespace hftguard::cli

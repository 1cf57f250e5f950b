#include "hftguard/drill/report.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

namespace hftguard::drill {
namespace {

double msBetween(WallTime from, WallTime to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

std::string ms(double v) { return v < 0 ? "-" : fmt::format("{:.0f}", v); }

struct PhaseColumn {
  const char* name;
  double RunResult::*field;
};
constexpr PhaseColumn kPhases[] = {{"first failure", &RunResult::first_failure_ms},
                                   {"decision", &RunResult::decision_ms},
                                   {"plan done", &RunResult::completed_ms},
                                   {"verified", &RunResult::verified_ms},
                                   {"RTO", &RunResult::rto_ms}};

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5));
  return v[i];
}

// Per scenario: each phase's values over the runs where it happened.
std::map<std::string, std::vector<const RunResult*>> byScenario(const std::vector<RunResult>& runs) {
  std::map<std::string, std::vector<const RunResult*>> out;
  for (const auto& r : runs) out[r.scenario].push_back(&r);
  return out;
}

std::vector<double> values(const std::vector<const RunResult*>& runs, double RunResult::*f) {
  std::vector<double> v;
  for (const RunResult* r : runs)
    if (r->*f >= 0) v.push_back(r->*f);
  return v;
}

}  // namespace

void measure(const std::vector<events::Event>& events, const std::string& component,
             WallTime injected, RunResult& r) {
  for (const auto& e : events) {
    if (e.component != component || e.at < injected || e.fields.value("dry_run", false)) continue;
    const double at = msBetween(injected, e.at);
    // Several daemons' logs: the earliest of any (their lines may come in a later batch).
    if (e.type == "check_failed" && (r.first_failure_ms < 0 || at < r.first_failure_ms))
      r.first_failure_ms = at;
    if (e.type == "failover_triggered" && (r.decision_ms < 0 || at < r.decision_ms)) {
      r.decision_ms = at;
      r.failover = true;
    }
    if (e.type == "step_done" && r.failover && r.completed_ms < 0 &&
        !e.fields.value("self_fence", false)) {  // the failover's steps, not a self-fence's
      r.steps.emplace_back(e.fields.value("step", "?"), e.fields.value("duration_ms", 0.0));
    }
    if (e.type == "self_fence_completed" || e.type == "self_fence_failed") {
      r.self_fence_ms = std::max(r.self_fence_ms, e.fields.value("duration_ms", -1.0));
    }
    if (e.type == "failover_completed" && r.failover && r.completed_ms < 0) {
      r.completed_ms = at;
      r.rto_ms = e.fields.value("rto_ms", -1.0);
      r.rto_target_ms = e.fields.value("rto_target_ms", -1.0);
    }
  }
}

namespace {

// A run's cells, in the column order of both tables.
std::vector<std::string> cells(const RunResult& r) {
  return {r.scenario,        std::to_string(r.repeat), ms(r.first_failure_ms),
          ms(r.decision_ms), ms(r.completed_ms),       ms(r.verified_ms),
          ms(r.rto_ms),      ms(r.rto_target_ms),      fmt::format("{} {}", r.pass ? "PASS" : "FAIL", r.why)};
}

struct PhaseSummary {
  const char* phase;
  double p50, p95, max;
};

// The phases that happened in some of the runs, with their percentiles.
std::vector<PhaseSummary> summarize(const std::vector<const RunResult*>& list) {
  std::vector<PhaseSummary> out;
  for (const auto& p : kPhases) {
    auto v = values(list, p.field);
    if (v.empty()) continue;
    out.push_back({p.name, percentile(v, 0.5), percentile(v, 0.95),
                   *std::max_element(v.begin(), v.end())});
  }
  return out;
}

struct PartitionRow {
  std::string scenario;
  int runs = 0, failovers = 0;
  double double_primary_ms = 0, self_fence_ms = -1;
};

// Per scenario with histories: what the partition table shows.
std::vector<PartitionRow> partitionRows(const std::vector<RunResult>& runs) {
  std::vector<PartitionRow> out;
  for (const auto& [name, list] : byScenario(runs)) {
    PartitionRow row{name};
    for (const RunResult* r : list) {
      if (r->double_primary_ms < 0) continue;
      ++row.runs;
      row.failovers += r->completed_ms >= 0;
      row.double_primary_ms += r->double_primary_ms;
      row.self_fence_ms = std::max(row.self_fence_ms, r->self_fence_ms);
    }
    if (row.runs > 0) out.push_back(row);
  }
  return out;
}

}  // namespace

std::string table(const std::vector<RunResult>& runs) {
  constexpr const char* kRow = "{:<30} {:>3} {:>14} {:>9} {:>10} {:>9} {:>8} {:>9}  {}\n";
  std::string out = fmt::format(kRow, "scenario", "run", "first failure", "decision",
                                "plan done", "verified", "RTO", "target", "result");
  for (const auto& r : runs) {
    const auto c = cells(r);
    out += fmt::format(kRow, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]);
  }
  for (const auto& [name, list] : byScenario(runs)) {
    if (list.size() < 2) continue;
    out += fmt::format("\n{} over {} runs (ms):          p50      p95      max\n", name,
                       list.size());
    for (const auto& p : summarize(list)) {
      out += fmt::format("  {:<30} {:>8.0f} {:>8.0f} {:>8.0f}\n", p.phase, p.p50, p.p95, p.max);
    }
  }
  if (auto rows = partitionRows(runs); !rows.empty()) {
    constexpr const char* kPart = "{:<32} {:>5} {:>10} {:>16} {:>15}\n";
    out += "\nthe engines' histories:\n" +
           fmt::format(kPart, "scenario", "runs", "failovers", "double-primary", "max self-fence");
    for (const auto& p : rows) {
      out += fmt::format(kPart, p.scenario, p.runs, p.failovers,
                         fmt::format("{:.1f} ms", p.double_primary_ms),
                         p.self_fence_ms < 0 ? "none" : fmt::format("{:.0f} ms", p.self_fence_ms));
    }
  }
  return out;
}

std::string markdown(const std::vector<RunResult>& runs) {
  std::string out =
      "# hftguard drill report\n\nMilliseconds from the fault's injection; RTO as the daemon "
      "measured it (from the first failed sample).\n\n"
      "| scenario | run | first failure | decision | plan done | verified | RTO | target | "
      "result |\n|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : runs) out += "| " + fmt::format("{}", fmt::join(cells(r), " | ")) + " |\n";
  for (const auto& [name, list] : byScenario(runs)) {
    if (list.size() < 2) continue;
    out += fmt::format("\n## {} over {} runs\n\n| phase | p50 | p95 | max |\n|---|---|---|---|\n",
                       name, list.size());
    for (const auto& p : summarize(list)) {
      out += fmt::format("| {} | {:.0f} | {:.0f} | {:.0f} |\n", p.phase, p.p50, p.p95, p.max);
    }
  }
  if (auto rows = partitionRows(runs); !rows.empty()) {
    out += "\n## The engines' histories\n\n| scenario | runs | failovers | double-primary time | "
           "max self-fence |\n|---|---|---|---|---|\n";
    for (const auto& p : rows) {
      out += fmt::format("| {} | {} | {} | {:.1f} ms | {} |\n", p.scenario, p.runs, p.failovers,
                         p.double_primary_ms,
                         p.self_fence_ms < 0 ? "none" : fmt::format("{:.0f} ms", p.self_fence_ms));
    }
  }
  const auto first = std::find_if(runs.begin(), runs.end(), [](auto& r) { return !r.steps.empty(); });
  if (first != runs.end()) {
    out += fmt::format("\n## Plan steps of {} #{}\n\n| step | ms |\n|---|---|\n", first->scenario,
                       first->repeat);
    for (const auto& [step, d] : first->steps) out += fmt::format("| {} | {:.1f} |\n", step, d);
  }
  return out;
}

std::string json(const std::vector<RunResult>& runs) {
  nlohmann::json all = nlohmann::json::array();
  for (const auto& r : runs) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& [step, d] : r.steps) steps.push_back({{"step", step}, {"duration_ms", d}});
    all.push_back({{"scenario", r.scenario},
                   {"run", r.repeat},
                   {"pass", r.pass},
                   {"why", r.why},
                   {"expect_failover", r.expect_failover},
                   {"failover", r.failover},
                   {"first_failure_ms", r.first_failure_ms},
                   {"decision_ms", r.decision_ms},
                   {"completed_ms", r.completed_ms},
                   {"verified_ms", r.verified_ms},
                   {"rto_ms", r.rto_ms},
                   {"rto_target_ms", r.rto_target_ms},
                   {"double_primary_ms", r.double_primary_ms},
                   {"self_fence_ms", r.self_fence_ms},
                   {"steps", steps}});
  }
  return nlohmann::json{{"runs", all}}.dump(2) + "\n";
}

std::string timelineSvg(const std::vector<RunResult>& runs) {
  double longest = 1;
  for (const auto& r : runs)
    for (const auto& p : kPhases) longest = std::max(longest, r.*(p.field));
  const int width = 900, left = 200, lane = 28, top = 30;
  const double scale = (width - left - 20) / longest;
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<text x=\"10\" y=\"18\">hftguard drill: phases from the fault's injection (0 ms) to "
      "{:.0f} ms</text>\n",
      width, top + lane * static_cast<int>(runs.size()) + 30, longest);
  const char* colors[] = {"#d9534f", "#f0ad4e", "#5bc0de", "#5cb85c"};
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i];
    const int y = top + static_cast<int>(i) * lane;
    out += fmt::format("<text x=\"10\" y=\"{}\">{} #{} {}</text>\n", y + 16, r.scenario,
                       r.repeat, r.pass ? "PASS" : "FAIL");
    double from = 0;
    for (int p = 0; p < 4; ++p) {
      const double to = r.*(kPhases[p].field);
      if (to < 0) continue;
      out += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"18\" fill=\"{}\"><title>{}: "
          "{:.0f} ms</title></rect>\n",
          left + from * scale, y + 4, std::max(1.0, (to - from) * scale), colors[p],
          kPhases[p].name, to);
      from = to;
    }
  }
  const int legendY = top + lane * static_cast<int>(runs.size()) + 18;
  for (int p = 0; p < 4; ++p) {
    out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/><text "
                       "x=\"{}\" y=\"{}\">until {}</text>\n",
                       left + p * 160, legendY - 10, colors[p], left + p * 160 + 16, legendY,
                       kPhases[p].name);
  }
  return out + "</svg>\n";
}

}  // namespace hftguard::drill

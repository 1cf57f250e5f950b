#pragma once
// What a drill run measured, from the daemon's own events, and how it is reported: a table
// on the terminal, report.json, report.md and a timeline picture (SVG). Pure: no I/O but
// the writing of the report files.

#include <string>
#include <utility>
#include <vector>

#include "hftguard/core/clock.hpp"
#include "hftguard/events/event.hpp"

namespace hftguard::drill {

struct RunResult {
  std::string scenario;
  int repeat = 1;
  bool expect_failover = true;
  bool pass = false;
  std::string why;  // one line: what passed or what did not
  // Milliseconds from the fault's injection; negative: did not happen.
  double first_failure_ms = -1;  // the first failed sample
  double decision_ms = -1;       // failover_triggered
  double completed_ms = -1;      // failover_completed
  double verified_ms = -1;       // the scenario's verification passed afterwards
  double rto_ms = -1;            // the daemon's RTO (from the first failed sample)
  double rto_target_ms = -1;
  std::vector<std::pair<std::string, double>> steps;  // each plan step's duration
  bool failover = false;                              // a failover was triggered
  // With the engines' histories (drill.histories): the time two were primary at once, from
  // the injection to the end of the restore; -1 without histories.
  double double_primary_ms = -1;
  double self_fence_ms = -1;  // the longest self-fence a daemon ran (self_fence_*); -1 none
};

// Fills the phases of `r` from the component's events that follow the injection.
void measure(const std::vector<events::Event>& events, const std::string& component,
             WallTime injected, RunResult& r);

// The terminal table: one row per run, then p50 / p95 / max per scenario when repeated, and
// with histories the partition table: per scenario, runs, failovers, the time with two
// primaries, the longest self-fence.
std::string table(const std::vector<RunResult>& runs);
std::string markdown(const std::vector<RunResult>& runs);
std::string json(const std::vector<RunResult>& runs);
// One lane per run: the phases as bars on a millisecond axis.
std::string timelineSvg(const std::vector<RunResult>& runs);

}  // namespace hftguard::drill

#pragma once
// The engines' role histories and the partition checker's first verdict: was there an
// instant with two primaries? A history is what the engine simulator writes with
// `--history FILE`: one line per role it takes, "MONOTONIC_NS ROLE" (CLOCK_MONOTONIC, which
// network namespaces share, so histories of several "hosts" compare directly). Pure: the
// text in, the intervals and the overlap out.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hftguard::drill {

struct RoleInterval {
  std::int64_t from_ns = 0;
  std::int64_t to_ns = 0;  // `now_ns` for one still open
};

// The intervals in which the history's engine acted as primary, up to `now_ns`. A line that
// is not "NS ROLE" (or goes back in time) is an error (`*error`, the line number), and the
// intervals read so far are kept; a last line without its newline is still being written
// and is not read.
std::vector<RoleInterval> primaryIntervals(std::string_view history, std::int64_t now_ns,
                                           std::string* error = nullptr);

struct Histories {
  std::map<std::string, std::vector<RoleInterval>> primary;  // by engine (or file)
  std::int64_t double_primary_ns = 0;  // the time in which two or more were primary
  std::int64_t first_double_ns = 0;    // when the first such instant began; 0: none
};

// The time in which two or more engines were primary at once, within [from_ns, to_ns].
Histories overlap(std::map<std::string, std::vector<RoleInterval>> primary,
                  std::int64_t from_ns = 0, std::int64_t to_ns = INT64_MAX);

std::int64_t monotonicNowNs();  // CLOCK_MONOTONIC, as the histories are written

}  // namespace hftguard::drill

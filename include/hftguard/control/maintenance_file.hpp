#pragma once
// Maintenance windows as the operator sets them (`hftguard maintenance start/end`) and the
// daemon reads them: a small JSON file (mode 0640, the directory's group), replaced
// atomically (unique temp file, fsync, rename, directory fsync), so the daemon never reads
// half of it. It outlives daemon restarts; expired entries are ignored.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hftguard/core/clock.hpp"

namespace hftguard::control {

struct MaintenanceEntry {
  std::string component;  // empty: the whole node
  std::string owner;
  std::string reason;
  WallTime expires{};

  bool operator==(const MaintenanceEntry&) const = default;
};

// `hftguard pause`: a window of the whole node (with etcd: of every daemon) that lasts until
// `resume` ends it - written as one that expires in 2199.
WallTime untilResumed();
inline bool isPause(const MaintenanceEntry& e) {
  return e.component.empty() && e.expires >= untilResumed();
}

// What `pause` (or `resume`) does to a list of windows, wherever it is kept (the daemon's
// control API and the CLI alike): a resume without a pause returns kNotPaused.
inline constexpr const char* kNotPaused = "automation is not paused";
std::function<std::string(std::vector<MaintenanceEntry>&)> pauseChange(bool pause,
                                                                        std::string owner,
                                                                        std::string reason);

// The entries in `path`; an absent file is no maintenance. Nullopt (with why) when the file
// exists but cannot be read or parsed.
std::optional<std::vector<MaintenanceEntry>> readMaintenance(const std::string& path,
                                                             std::string* error = nullptr);

// The same list as text (the file's format; with `coordination: etcd` also the value of the
// cluster's `maintenance` key, so one `hftguard maintenance start` holds every daemon), and
// back (nullopt with why when it is not one).
std::string maintenanceText(const std::vector<MaintenanceEntry>& entries);
std::optional<std::vector<MaintenanceEntry>> parseMaintenance(const std::string& text,
                                                              std::string* error = nullptr);

// Read, changed and written back under an exclusive lock (flock on the file's directory,
// waited for at most 5 s), so that two writers (the daemon's control API, `hftguard
// maintenance`, `pause`, the drill) never lose each other's change; expired windows are
// dropped. `change` returns "" to write, else why not (returned). Blocks: never on the loop.
std::string updateMaintenance(
    const std::string& path,
    const std::function<std::string(std::vector<MaintenanceEntry>&)>& change);

// Replaces the file's content atomically; false (with why) on failure.
bool writeMaintenance(const std::string& path, const std::vector<MaintenanceEntry>& entries,
                      std::string* error = nullptr);

}  // namespace hftguard::control

#include "hftguard/control/maintenance_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/file.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "hftguard/core/durable_file.hpp"
#include "hftguard/events/event.hpp"

namespace hftguard::control {

WallTime untilResumed() {
  // 2199-01-01T00:00:00Z: far enough, and inside what event timestamps can say (before 2200).
  return WallTime{std::chrono::seconds(7226582400LL)};
}

std::function<std::string(std::vector<MaintenanceEntry>&)> pauseChange(bool pause,
                                                                        std::string owner,
                                                                        std::string reason) {
  return [pause, owner = std::move(owner), reason = std::move(reason)](
             std::vector<MaintenanceEntry>& entries) -> std::string {
    const bool was = std::any_of(entries.begin(), entries.end(), isPause);
    if (!pause && !was) return kNotPaused;
    std::erase_if(entries, isPause);
    if (pause) entries.push_back({"", owner, reason, untilResumed()});
    return "";
  };
}

std::optional<std::vector<MaintenanceEntry>> readMaintenance(const std::string& path,
                                                             std::string* error) {
  auto fail = [&](std::string why) -> std::optional<std::vector<MaintenanceEntry>> {
    if (error != nullptr) *error = path + ": " + why;
    return std::nullopt;
  };
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return std::vector<MaintenanceEntry>{};
    return fail(std::strerror(errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string why;
  auto out = parseMaintenance(text.str(), &why);
  if (!out) return fail(why);
  return out;
}

std::optional<std::vector<MaintenanceEntry>> parseMaintenance(const std::string& text,
                                                              std::string* error) {
  auto fail = [&](std::string why) -> std::optional<std::vector<MaintenanceEntry>> {
    if (error != nullptr) *error = std::move(why);
    return std::nullopt;
  };
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("entries") || !j["entries"].is_array()) {
    return fail("not a maintenance list ({\"entries\": [...]})");
  }
  std::vector<MaintenanceEntry> out;
  for (const auto& e : j["entries"]) {
    if (!e.is_object()) return fail("an entry is not an object");
    for (const char* key : {"component", "owner", "reason", "expires"}) {
      if (e.contains(key) && !e[key].is_string())
        return fail(std::string("an entry's '") + key + "' is not a string");
    }
    MaintenanceEntry m;
    m.component = e.value("component", std::string());
    m.owner = e.value("owner", std::string());
    m.reason = e.value("reason", std::string());
    auto expires = events::parseTimestamp(e.value("expires", std::string()));
    if (!expires) return fail("an entry has no valid 'expires' time");
    m.expires = *expires;
    out.push_back(std::move(m));
  }
  return out;
}

std::string maintenanceText(const std::vector<MaintenanceEntry>& entries) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : entries) {
    list.push_back({{"component", e.component},
                    {"owner", e.owner},
                    {"reason", e.reason},
                    {"expires", events::formatTimestamp(e.expires)}});
  }
  return nlohmann::json{{"entries", list}}.dump(2, ' ', false,
                                                nlohmann::json::error_handler_t::replace) +
         "\n";
}

// A temp file of its own (two operators at once never share one), mode 0640 in the
// directory's group (the daemon's, which reads it), fsync'd, renamed over the file, and the
// directory fsync'd: a reader sees the old file or the new one, even after a power cut.
bool writeMaintenance(const std::string& path, const std::vector<MaintenanceEntry>& entries,
                      std::string* error) {
  return replaceFileDurably(path, maintenanceText(entries), 0640, true, error);
}

std::string updateMaintenance(
    const std::string& path,
    const std::function<std::string(std::vector<MaintenanceEntry>&)>& change) {
  // The lock is the file's directory (flock on a directory fd): nothing is created, so no
  // lock file owned by whichever user came first (root's `sudo hftguard pause`) can keep
  // the daemon's user out.
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  std::filesystem::create_directories(dir, ec);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return dir.string() + ": " + std::strerror(errno);
  // Bounded: a writer that holds it longer (a stalled disk) makes this one give up.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if ((errno != EWOULDBLOCK && errno != EINTR) || std::chrono::steady_clock::now() >= until) {
      const std::string why = errno == EWOULDBLOCK
                                  ? "another writer holds the maintenance windows; try again"
                                  : dir.string() + ": " + std::strerror(errno);
      ::close(fd);
      return why;
    }
    ::usleep(20 * 1000);
  }
  std::string why;
  auto entries = readMaintenance(path, &why);
  if (entries) {
    const WallTime now = std::chrono::system_clock::now();
    std::erase_if(*entries, [&](const auto& e) { return e.expires <= now; });
    why = change(*entries);
    if (why.empty() && !writeMaintenance(path, *entries, &why) && why.empty()) {
      why = path + ": not written";
    }
  }
  ::close(fd);  // releases the lock
  return why;
}

}  // namespace hftguard::control

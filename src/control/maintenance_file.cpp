#include "hftguard/control/maintenance_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "hftguard/events/event.hpp"

namespace hftguard::control {

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
  nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("entries") || !j["entries"].is_array()) {
    return fail("not a maintenance file ({\"entries\": [...]})");
  }
  std::vector<MaintenanceEntry> out;
  for (const auto& e : j["entries"]) {
    if (!e.is_object()) return fail("an entry is not an object");
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

namespace {

bool failed(std::string* error, const std::string& what) {
  if (error != nullptr) *error = what + ": " + std::strerror(errno);
  return false;
}

bool writeAll(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

// A temp file of its own (two operators at once never share one), mode 0640 in the
// directory's group (the daemon's, which reads it), fsync'd, renamed over the file, and the
// directory fsync'd: a reader sees the old file or the new one, even after a power cut.
bool writeMaintenance(const std::string& path, const std::vector<MaintenanceEntry>& entries,
                      std::string* error) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : entries) {
    list.push_back({{"component", e.component},
                    {"owner", e.owner},
                    {"reason", e.reason},
                    {"expires", events::formatTimestamp(e.expires)}});
  }
  const std::string text = nlohmann::json{{"entries", list}}.dump(2) + "\n";
  std::error_code ec;
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  std::filesystem::create_directories(dir, ec);
  std::string tmp = path + ".XXXXXX";
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return failed(error, path + ".XXXXXX");
  struct stat ds {};
  if (::stat(dir.c_str(), &ds) == 0) (void)!::fchown(fd, static_cast<uid_t>(-1), ds.st_gid);
  const bool ok = ::fchmod(fd, 0640) == 0 && writeAll(fd, text) && ::fsync(fd) == 0;
  const int err = errno;
  if (::close(fd) != 0 || !ok) {
    errno = ok ? errno : err;
    failed(error, tmp);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    failed(error, path);
    ::unlink(tmp.c_str());
    return false;
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return failed(error, dir);
  const bool synced = ::fsync(dfd) == 0;
  ::close(dfd);
  return synced || failed(error, dir);
}

}  // namespace hftguard::control

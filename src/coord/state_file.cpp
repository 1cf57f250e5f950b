#include "hftguard/coord/state_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/file.h>
#include <unistd.h>

#include "hftguard/core/durable_file.hpp"

namespace hftguard::coord {
namespace {

class Locked {
 public:
  explicit Locked(const std::string& path)
      : fd_(::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0640)) {
    if (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Locked() {
    if (fd_ >= 0) ::close(fd_);  // closing lets the lock go
  }
  Locked(const Locked&) = delete;
  Locked& operator=(const Locked&) = delete;
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

}  // namespace

std::optional<ClusterState> StateFile::read(std::string* why) const {
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return ClusterState{};
    *why = fmt::format("cannot read {}: {}", path_, std::strerror(errno));
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  const auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) {
    *why = fmt::format("{} is not JSON", path_);
    return std::nullopt;
  }
  std::string bad;
  auto s = stateFromJson(j, &bad);
  if (!s) *why = fmt::format("{}: {}", path_, bad);
  return s;
}

std::string StateFile::update(const std::function<std::string(ClusterState&)>& change) const {
  Locked lock(path_ + ".lock");
  if (!lock.ok()) return fmt::format("cannot lock {}.lock: {}", path_, std::strerror(errno));
  std::string why;
  auto state = read(&why);
  if (!state) return why;
  if (why = change(*state); !why.empty()) return why;
  if (!replaceFileDurably(path_, toJson(*state).dump(2) + "\n", 0640, true, &why)) {
    return fmt::format("cannot write {}: {}", path_, why);
  }
  return {};
}

}  // namespace hftguard::coord

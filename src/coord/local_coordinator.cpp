#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hftguard/coord/coordinator.hpp"

namespace hftguard::coord {
namespace {

class FileLease final : public Lease {
 public:
  explicit FileLease(int fd) : fd_(fd) {}
  ~FileLease() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_;
};

// Lock files are 0640 in the group of the directory above the lock directory (the daemon's
// state directory, group hftguard); the lock directory is 02770 in that group, so a lock file
// root's `hftguard failover` creates belongs to that group too. The daemon's unprivileged
// user and root can each open (and so flock) a file the other created; nobody else can.
constexpr mode_t kLockMode = 0640;
constexpr mode_t kDirMode = 02770;

void makeLockDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  struct stat parent {};
  struct stat self {};
  const auto above = std::filesystem::path(dir).parent_path();
  if (::stat(above.empty() ? "." : above.c_str(), &parent) != 0 ||
      ::stat(dir.c_str(), &self) != 0 || self.st_uid != ::geteuid()) {
    return;  // not ours to change
  }
  if (self.st_gid != parent.st_gid)
    (void)!::chown(dir.c_str(), static_cast<uid_t>(-1), parent.st_gid);
  if ((self.st_mode & 07777) != kDirMode) (void)!::chmod(dir.c_str(), kDirMode);
}

int openLock(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, kLockMode);
  struct stat st {};
  // A file from before (0644) is made private when it is ours.
  if (fd >= 0 && ::fstat(fd, &st) == 0 && st.st_uid == ::geteuid() &&
      (st.st_mode & 07777) != kLockMode) {
    (void)!::fchmod(fd, kLockMode);
  }
  return fd;
}

class LocalCoordinator final : public Coordinator {
 public:
  LocalCoordinator(std::string dir, const std::vector<std::string>& components)
      : dir_(std::move(dir)) {
    makeLockDir(dir_);
    for (const auto& c : components) {
      const int fd = openLock(path(c));
      if (fd >= 0) ::close(fd);
    }
  }

  std::string name() const override { return "local"; }

  std::unique_ptr<Lease> acquire(const std::string& component, Grant& grant) override {
    makeLockDir(dir_);
    const std::string lock = path(component);
    const int fd = openLock(lock);
    if (fd < 0) {
      grant = {false, {}, fmt::format("cannot open lock {}: {}", lock, std::strerror(errno))};
      return nullptr;
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      grant = {
          false, {}, fmt::format("another process on this host runs a plan for {}", component)};
      return nullptr;
    }
    // Milliseconds since the epoch: increasing across restarts on one host.
    const auto token = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    grant = {true, fmt::format("local-{}", token), "local coordinator: this node acts alone"};
    return std::make_unique<FileLease>(fd);
  }

 private:
  std::string path(const std::string& component) const {
    return dir_ + "/" + component + ".failover.lock";
  }

  std::string dir_;
};

}  // namespace

std::unique_ptr<Coordinator> makeLocalCoordinator(std::string lock_dir,
                                                  const std::vector<std::string>& components) {
  return std::make_unique<LocalCoordinator>(std::move(lock_dir), components);
}

}  // namespace hftguard::coord

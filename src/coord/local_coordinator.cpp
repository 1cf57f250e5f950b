#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
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

class LocalCoordinator final : public Coordinator {
 public:
  LocalCoordinator(std::string dir, const std::vector<std::string>& components)
      : dir_(std::move(dir)) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    for (const auto& c : components) {
      const int fd = ::open(path(c).c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
      if (fd >= 0) ::close(fd);
    }
  }

  std::string name() const override { return "local"; }

  std::unique_ptr<Lease> acquire(const std::string& component, Grant& grant) override {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    const std::string lock = path(component);
    const int fd = ::open(lock.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
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

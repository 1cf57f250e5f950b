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
  explicit LocalCoordinator(std::string dir) : dir_(std::move(dir)) {}

  std::string name() const override { return "local"; }

  std::unique_ptr<Lease> acquire(const std::string& component, Grant& grant) override {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    const std::string path = dir_ + "/" + component + ".failover.lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
      grant = {false, {}, fmt::format("cannot open lock {}: {}", path, std::strerror(errno))};
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
  std::string dir_;
};

}  // namespace

std::unique_ptr<Coordinator> makeLocalCoordinator(std::string lock_dir) {
  return std::make_unique<LocalCoordinator>(std::move(lock_dir));
}

}  // namespace hftguard::coord

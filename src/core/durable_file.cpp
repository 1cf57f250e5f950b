#include "hftguard/core/durable_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hftguard {
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

bool syncDirectory(const std::string& dir, std::string* error) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return failed(error, dir);
  const bool ok = ::fsync(fd) == 0;
  if (!ok) failed(error, dir);
  ::close(fd);
  return ok;
}

bool replaceFileDurably(const std::string& path, const std::string& text, mode_t mode,
                        bool directory_group, std::string* error) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(1, '.') : parent.string();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string tmp = path;
  tmp.append(".XXXXXX");
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return failed(error, tmp);
  struct stat ds {};
  if (directory_group && ::stat(dir.c_str(), &ds) == 0)
    (void)!::fchown(fd, static_cast<uid_t>(-1), ds.st_gid);
  const bool ok = ::fchmod(fd, mode) == 0 && writeAll(fd, text) && ::fsync(fd) == 0;
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
  return syncDirectory(dir, error);
}

}  // namespace hftguard

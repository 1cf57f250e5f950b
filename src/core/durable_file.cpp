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

namespace {

std::string directoryOf(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(1, '.') : parent.string();
}

bool replaceFile(const std::string& path, const std::string& text, mode_t mode,
                 bool directory_group, bool durable, std::string* error) {
  const std::string dir = directoryOf(path);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string tmp = path;
  tmp.append(".XXXXXX");
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return failed(error, tmp);
  struct stat ds {};
  if (directory_group && ::stat(dir.c_str(), &ds) == 0)
    (void)!::fchown(fd, static_cast<uid_t>(-1), ds.st_gid);
  const bool ok =
      ::fchmod(fd, mode) == 0 && writeAll(fd, text) && (!durable || ::fsync(fd) == 0);
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
  return !durable || syncDirectory(dir, error);
}

}  // namespace

bool replaceFileDurably(const std::string& path, const std::string& text, mode_t mode,
                        bool directory_group, std::string* error) {
  return replaceFile(path, text, mode, directory_group, true, error);
}

bool replaceFileVisibly(const std::string& path, const std::string& text, mode_t mode,
                        bool directory_group, std::string* error) {
  return replaceFile(path, text, mode, directory_group, false, error);
}

bool syncReplacedFile(const std::string& path, std::string* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT || failed(error, path);  // replaced or removed since
  const bool ok = ::fsync(fd) == 0;
  if (!ok) failed(error, path);
  ::close(fd);
  if (!ok) return false;
  std::string why;
  if (syncDirectory(directoryOf(path), &why) || errno == ENOENT) return true;  // ENOENT: gone
  if (error != nullptr) *error = why;
  return false;
}

}  // namespace hftguard

#include "process_match.hpp"

#include <cerrno>

#include <unistd.h>

#include "procfs.hpp"

namespace hftguard::probes::process_match {
namespace {

constexpr std::string_view kDeleted = " (deleted)";

std::string_view baseName(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

ExeLink parseExeLink(std::string_view link) {
  ExeLink out;
  if (link.ends_with(kDeleted)) {
    link.remove_suffix(kDeleted.size());
    out.deleted = true;
  }
  out.path = std::string(link);
  return out;
}

bool exeMatches(std::string_view path, std::string_view pattern) {
  if (pattern.empty()) return false;
  if (pattern.find('/') != std::string_view::npos) return path == pattern;
  return baseName(path) == pattern;
}

bool argvMatches(const std::vector<std::string>& argv, const std::vector<std::string>& pattern) {
  if (pattern.empty() || argv.size() < pattern.size()) return false;
  if (!exeMatches(argv[0], pattern[0])) return false;
  for (std::size_t i = 1; i < pattern.size(); ++i) {
    if (argv[i] != pattern[i]) return false;
  }
  return true;
}

std::vector<std::string> splitCmdline(std::string_view raw) {
  std::vector<std::string> out;
  while (!raw.empty()) {
    const auto end = raw.find('\0');
    out.emplace_back(raw.substr(0, end));
    if (end == std::string_view::npos) break;
    raw.remove_prefix(end + 1);
  }
  return out;
}

ExeRead readExe(const std::string& proc_root, int pid) {
  const std::string path = proc_root + "/" + std::to_string(pid) + "/exe";
  char buf[4096];
  const ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  if (n < 0) return {std::nullopt, errno};
  if (static_cast<std::size_t>(n) >= sizeof buf) return {std::nullopt, ENAMETOOLONG};
  return {parseExeLink(std::string_view(buf, static_cast<std::size_t>(n))), 0};
}

std::optional<std::vector<std::string>> readArgv(const std::string& proc_root, int pid) {
  auto raw = procfs::readFile(proc_root + "/" + std::to_string(pid) + "/cmdline", 8192);
  if (!raw) return std::nullopt;
  return splitCmdline(*raw);
}

}  // namespace hftguard::probes::process_match

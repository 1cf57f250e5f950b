#pragma once
// Private: how a process check recognises its process, apart from reading /proc, so the
// rules are unit-tested. `executable` names the file the kernel executed (/proc/PID/exe),
// never argv[0], which any process may set (`exec -a NAME`). `cmdline` is a prefix of whole
// argv elements, never a substring: a `tail -f` of the engine's log, a grep or an editor
// holding the engine's name in one of their arguments do not match.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hftguard::probes::process_match {

// The target of /proc/PID/exe. After the file was replaced or removed (a package upgrade
// under a running engine) the kernel appends " (deleted)"; the process still runs it.
struct ExeLink {
  std::string path;
  bool deleted = false;
};
ExeLink parseExeLink(std::string_view link);

// A pattern with a '/' names the whole path; otherwise the file's name.
bool exeMatches(std::string_view path, std::string_view pattern);

// True when `pattern` equals the first pattern.size() elements of `argv`. Its first element
// compares like exeMatches against argv[0], so "engine" matches "/opt/bin/engine".
bool argvMatches(const std::vector<std::string>& argv, const std::vector<std::string>& pattern);

// /proc/PID/cmdline (elements each ended by a NUL) as a list of elements.
std::vector<std::string> splitCmdline(std::string_view raw);

// Readers of /proc/PID/exe and /proc/PID/cmdline. `error` is readlink's errno when the
// link could not be read: EACCES/EPERM for another user's process without CAP_SYS_PTRACE,
// ENOENT for kernel threads and processes that are gone.
struct ExeRead {
  std::optional<ExeLink> link;
  int error = 0;
};
ExeRead readExe(const std::string& proc_root, int pid);
std::optional<std::vector<std::string>> readArgv(const std::string& proc_root, int pid);

// The kernel keeps at most this many characters of a process's name in /proc/PID/comm.
constexpr std::size_t kCommLength = 15;

}  // namespace hftguard::probes::process_match

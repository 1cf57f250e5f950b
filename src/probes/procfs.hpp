#pragma once
// Private: small, allocation-light readers of /proc for the process and host probes.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hftguard::probes::procfs {

std::optional<std::string> readFile(const std::string& path, std::size_t limit = 1 << 16);
std::vector<int> pids(const std::string& proc_root);

struct ProcStat {
  char state = '?';             // R, S, D, Z, ...
  std::uint64_t cpu_ticks = 0;  // utime + stime
  std::uint64_t rss_pages = 0;
};
// Parses /proc/PID/stat (the command name may contain spaces and parentheses).
std::optional<ProcStat> processStat(const std::string& proc_root, int pid);

// The executable's short name: /proc/PID/comm (at most 15 characters).
std::optional<std::string> comm(const std::string& proc_root, int pid);
// argv joined by spaces.
std::optional<std::string> cmdline(const std::string& proc_root, int pid);

struct CpuTimes {
  std::uint64_t busy = 0;
  std::uint64_t total = 0;
};
std::optional<CpuTimes> hostCpu(const std::string& proc_root);

struct Memory {
  std::uint64_t total_kb = 0;
  std::uint64_t available_kb = 0;
};
std::optional<Memory> hostMemory(const std::string& proc_root);

}  // namespace hftguard::probes::procfs

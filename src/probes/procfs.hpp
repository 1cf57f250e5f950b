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
  std::uint64_t children_cpu_ticks = 0;  // cutime + cstime: children it has waited for
  std::uint64_t rss_pages = 0;
};
// Parses /proc/PID/stat (the command name may contain spaces and parentheses).
std::optional<ProcStat> processStat(const std::string& proc_root, int pid);

// The executable's short name: /proc/PID/comm (at most 15 characters).
std::optional<std::string> comm(const std::string& proc_root, int pid);
// argv joined by spaces.
std::optional<std::string> cmdline(const std::string& proc_root, int pid);

// A kernel CPU list ("0-3,8,10-11", as in Cpus_allowed_list): the CPU numbers it names, or
// nothing when it is malformed.
std::optional<std::vector<int>> parseCpuList(const std::string& text);
// How many CPUs the process may run on: the union of its threads' affinity masks
// (/proc/PID/task/*/status, Cpus_allowed_list, which the cpuset already narrows). The
// union, because an engine's main thread is often pinned to one housekeeping core while its
// workers are pinned to others. Nothing when it cannot be read.
std::optional<std::size_t> allowedCpus(const std::string& proc_root, int pid);

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

#include "procfs.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include <dirent.h>

namespace hftguard::probes::procfs {

std::optional<std::string> readFile(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string out(limit, '\0');
  in.read(out.data(), static_cast<std::streamsize>(limit));
  out.resize(static_cast<std::size_t>(in.gcount()));
  return out;
}

std::vector<int> pids(const std::string& proc_root) {
  std::vector<int> out;
  DIR* dir = opendir(proc_root.c_str());
  if (dir == nullptr) return out;
  while (dirent* e = readdir(dir)) {
    int pid = 0;
    const char* end = e->d_name + std::strlen(e->d_name);
    auto [ptr, ec] = std::from_chars(e->d_name, end, pid);
    if (ec == std::errc{} && ptr == end && pid > 0) out.push_back(pid);
  }
  closedir(dir);
  return out;
}

std::optional<ProcStat> processStat(const std::string& proc_root, int pid) {
  auto text = readFile(proc_root + "/" + std::to_string(pid) + "/stat", 4096);
  if (!text) return std::nullopt;
  // "pid (comm) state ppid ..." - comm may hold ") ", so split at the last ')'.
  const auto close = text->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(text->substr(close + 1));
  ProcStat s;
  std::string field;
  if (!(rest >> s.state)) return std::nullopt;
  // Fields after state, 1-based from ppid: utime is the 11th, stime the 12th, cutime and
  // cstime the 13th and 14th, rss the 21st.
  std::uint64_t values[22] = {};
  for (int i = 1; i <= 21 && rest >> field; ++i) {
    std::from_chars(field.data(), field.data() + field.size(), values[i]);
  }
  s.cpu_ticks = values[11] + values[12];
  s.children_cpu_ticks = values[13] + values[14];
  s.rss_pages = values[21];
  return s;
}

std::optional<std::string> comm(const std::string& proc_root, int pid) {
  auto text = readFile(proc_root + "/" + std::to_string(pid) + "/comm", 64);
  if (!text) return std::nullopt;
  while (!text->empty() && text->back() == '\n') text->pop_back();
  return text;
}

std::optional<std::string> cmdline(const std::string& proc_root, int pid) {
  auto text = readFile(proc_root + "/" + std::to_string(pid) + "/cmdline", 8192);
  if (!text) return std::nullopt;
  while (!text->empty() && text->back() == '\0') text->pop_back();
  for (char& c : *text) {
    if (c == '\0') c = ' ';
  }
  return text;
}

std::optional<std::vector<int>> parseCpuList(const std::string& text) {
  std::vector<int> out;
  std::istringstream in(text);
  std::string range;
  while (std::getline(in, range, ',')) {
    const auto first = range.find_first_not_of(" \t\n");
    if (first == std::string::npos) continue;
    range = range.substr(first, range.find_last_not_of(" \t\n") + 1 - first);
    int lo = 0, hi = 0;
    const char* end = range.data() + range.size();
    auto [p, ec] = std::from_chars(range.data(), end, lo);
    if (ec != std::errc{}) return std::nullopt;
    hi = lo;
    if (p != end && *p == '-') {
      auto [q, ec2] = std::from_chars(p + 1, end, hi);
      if (ec2 != std::errc{}) return std::nullopt;
      p = q;
    }
    if (p != end || lo < 0 || hi < lo || hi > 65535) return std::nullopt;
    for (int c = lo; c <= hi; ++c) out.push_back(c);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

namespace {

// Adds the CPUs of one task's status file to `cpus`; false when it names none.
bool addAllowed(const std::string& status_path, std::vector<bool>& cpus) {
  auto text = readFile(status_path, 8192);
  if (!text) return false;
  const std::string key = "Cpus_allowed_list:";
  const auto at = text->find(key);
  if (at == std::string::npos) return false;
  const auto from = at + key.size();
  auto list = parseCpuList(text->substr(from, text->find('\n', from) - from));
  if (!list) return false;
  for (int c : *list) {
    if (static_cast<std::size_t>(c) >= cpus.size()) cpus.resize(static_cast<std::size_t>(c) + 1);
    cpus[static_cast<std::size_t>(c)] = true;
  }
  return true;
}

}  // namespace

std::optional<std::size_t> allowedCpus(const std::string& proc_root, int pid) {
  const std::string dir = proc_root + "/" + std::to_string(pid);
  std::vector<bool> cpus;
  bool any = false;
  // Bounded: an engine has tens of threads; past this many the union is surely complete.
  constexpr std::size_t kMaxTasks = 4096;
  std::size_t n = 0;
  for (int tid : pids(dir + "/task")) {
    if (++n > kMaxTasks) break;
    any = addAllowed(dir + "/task/" + std::to_string(tid) + "/status", cpus) || any;
  }
  if (!any && !addAllowed(dir + "/status", cpus)) return std::nullopt;
  const auto count = static_cast<std::size_t>(std::count(cpus.begin(), cpus.end(), true));
  return count == 0 ? std::nullopt : std::optional<std::size_t>(count);
}

std::optional<CpuTimes> hostCpu(const std::string& proc_root) {
  auto text = readFile(proc_root + "/stat", 8192);
  if (!text || !text->starts_with("cpu ")) return std::nullopt;
  std::istringstream in(text->substr(4, text->find('\n') - 4));
  // user nice system idle iowait irq softirq steal
  std::uint64_t v[8] = {};
  for (auto& x : v) in >> x;
  CpuTimes t;
  for (auto x : v) t.total += x;
  t.busy = t.total - v[3] - v[4];
  return t;
}

std::optional<Memory> hostMemory(const std::string& proc_root) {
  auto text = readFile(proc_root + "/meminfo", 8192);
  if (!text) return std::nullopt;
  Memory m;
  std::istringstream in(*text);
  std::string key;
  std::uint64_t value = 0;
  std::string unit;
  while (in >> key >> value >> unit) {
    if (key == "MemTotal:") m.total_kb = value;
    if (key == "MemAvailable:") m.available_kb = value;
  }
  if (m.total_kb == 0) return std::nullopt;
  return m;
}

}  // namespace hftguard::probes::procfs

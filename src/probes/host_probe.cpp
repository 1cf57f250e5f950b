// host: CPU and memory utilisation of the host and optionally of one process, as
// observations for the sustained cpu/memory triggers. CPU needs two samples, so the first
// run reports memory only. The host's CPU figure is the busy share of all its CPUs; the
// process's is the busy share of the CPUs it may run on (its threads' affinity).
#include <charconv>

#include <fmt/format.h>
#include <unistd.h>

#include "kinds.hpp"
#include "procfs.hpp"

namespace hftguard::probes::kinds {
namespace {

class HostProbe final : public Probe {
 public:
  HostProbe(const CheckConfig& c, ProbeEnv& env) : check_(c), env_(env) {}

  void start(Done done) override { done(evaluate()); }

 private:
  ProbeOutcome evaluate() {
    const std::string& root = env_.proc_root;
    auto mem = procfs::hostMemory(root);
    auto cpu = procfs::hostCpu(root);
    if (!mem || !cpu) return ProbeOutcome::error("cannot read " + root + "/meminfo or /stat");
    ProbeOutcome out = ProbeOutcome::ok();
    const double memRatio = 1.0 - static_cast<double>(mem->available_kb) / mem->total_kb;
    out.observe("memory_ratio", memRatio);
    std::string reason = fmt::format("memory {:.1f}%", memRatio * 100);
    if (last_cpu_ && cpu->total > last_cpu_->total) {
      const double ratio = static_cast<double>(cpu->busy - last_cpu_->busy) /
                           static_cast<double>(cpu->total - last_cpu_->total);
      out.observe("cpu_ratio", ratio);
      reason += fmt::format(", cpu {:.1f}%", ratio * 100);
    }
    last_cpu_ = cpu;
    if (auto pid = targetPid()) reason += processUsage(*pid, *mem, out);
    out.reason = reason;
    return out;
  }

  std::string processUsage(int pid, const procfs::Memory& mem, ProbeOutcome& out) {
    auto st = procfs::processStat(env_.proc_root, pid);
    if (!st) return fmt::format("; process {} gone", pid);
    const SteadyTime now = env_.clock.now();
    static const long ticksPerSecond = sysconf(_SC_CLK_TCK);
    static const long pageKb = sysconf(_SC_PAGESIZE) / 1024;
    const double rss = static_cast<double>(st->rss_pages * pageKb) / mem.total_kb;
    out.observe("process_memory_ratio", rss);
    std::string text = fmt::format("; pid {} memory {:.1f}%", pid, rss * 100);
    // The share of the CPUs the process may run on, not cores' worth: a thread busy-polling
    // one pinned core of an engine allowed eight reads 12.5%, not 100% (docs/probes.md).
    const auto allowed = procfs::allowedCpus(env_.proc_root, pid);
    if (allowed) out.observe("process_cpus_allowed", static_cast<double>(*allowed));
    if (last_pid_ == pid && now > last_time_ && allowed) {
      const double seconds = std::chrono::duration<double>(now - last_time_).count();
      const double cores =
          static_cast<double>(st->cpu_ticks - last_ticks_) / ticksPerSecond / seconds;
      const double ratio = cores / static_cast<double>(*allowed);
      out.observe("process_cpu_ratio", ratio);
      text += fmt::format(" cpu {:.1f}% of its {} CPU{}", ratio * 100, *allowed,
                          *allowed == 1 ? "" : "s");
    }
    last_pid_ = pid;
    last_ticks_ = st->cpu_ticks;
    last_time_ = now;
    return text;
  }

  std::optional<int> targetPid() const {
    const auto& p = check_.params;
    if (p.has("pidfile")) {
      auto text = procfs::readFile(p.str("pidfile"), 64);
      if (!text) return std::nullopt;
      int pid = 0;
      std::from_chars(text->data(), text->data() + text->size(), pid);
      return pid > 0 ? std::optional<int>(pid) : std::nullopt;
    }
    if (!p.has("process")) return std::nullopt;
    for (int pid : procfs::pids(env_.proc_root)) {
      auto c = procfs::comm(env_.proc_root, pid);
      if (c && *c == p.str("process").substr(0, 15)) return pid;
    }
    return std::nullopt;
  }

  const CheckConfig& check_;
  ProbeEnv& env_;
  std::optional<procfs::CpuTimes> last_cpu_;
  int last_pid_ = 0;
  std::uint64_t last_ticks_ = 0;
  SteadyTime last_time_{};
};

}  // namespace

std::unique_ptr<Probe> makeHost(const CheckConfig& c, ProbeEnv& env) {
  return std::make_unique<HostProbe>(c, env);
}

}  // namespace hftguard::probes::kinds

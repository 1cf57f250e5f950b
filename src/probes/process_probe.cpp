// process: is the process running, from /proc (no pgrep): by the executable the kernel
// runs (/proc/PID/exe), by a prefix of whole command-line elements, or by pid file. Zombies
// do not count as running. process_match.hpp says why neither argv[0] nor a substring.
#include <cerrno>
#include <charconv>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "kinds.hpp"
#include "process_match.hpp"
#include "procfs.hpp"

namespace hftguard::probes::kinds {
namespace {

namespace pm = process_match;

bool alive(const std::string& root, int pid) {
  auto st = procfs::processStat(root, pid);
  return st && st->state != 'Z' && st->state != 'X';
}

// What one scan of /proc found.
struct Scan {
  std::vector<int> found;
  int replaced = 0;         // running a binary since replaced on disk ("(deleted)")
  int by_comm = 0;          // /proc/PID/exe unreadable; the kernel's full name matched
  std::vector<int> unsure;  // /proc/PID/exe unreadable and comm only a truncated match
};

enum class Match { No, Yes, YesReplaced, ByComm, Unsure };

class ProcessProbe final : public Probe {
 public:
  ProcessProbe(const CheckConfig& c, ProbeEnv& env) : check_(c), root_(env.proc_root) {}

  void start(Done done) override { done(evaluate()); }

 private:
  // A healthy scan's processes are re-read first on the next runs (one /proc/PID/exe read
  // each, not one per process on the host); /proc is scanned again every kRescanEvery runs,
  // and at once when one of them is gone or no longer matches. A failure is always the
  // verdict of a full scan.
  static constexpr int kRescanEvery = 10;

  ProbeOutcome evaluate() {
    const auto& p = check_.params;
    if (p.has("pidfile")) return byPidfile(p.str("pidfile"));
    const auto minCount = static_cast<std::size_t>(p.integer("min_count"));
    const std::string what = p.has("executable") ? "executable " + p.str("executable")
                                                 : fmt::format("command line starting [{}]",
                                                               fmt::join(p.list("cmdline"), " "));
    std::optional<Scan> known = recheckKnown();
    const Scan scan = known ? std::move(*known) : scanProcesses();
    const std::size_t n = scan.found.size();
    known_.clear();
    scans_ = known ? scans_ + 1 : 0;
    if (n >= minCount && scan.unsure.empty()) known_ = scan.found;
    ProbeOutcome out =
        ProbeOutcome::ok(fmt::format("{} running ({} process{})", what, n, n == 1 ? "" : "es"));
    if (scan.replaced > 0) out.reason += ", running a binary replaced on disk since it started";
    if (scan.by_comm > 0)
      out.reason += fmt::format(", {} by comm (exe not readable)", scan.by_comm);
    if (n < minCount && n + scan.unsure.size() >= minCount) {
      // Doubt is not down: say what hftguard cannot see instead of failing the engine.
      out = ProbeOutcome::error(fmt::format(
          "{}: cannot tell; /proc/{}/exe is not readable by hftguard (another user's process) "
          "and its comm is cut to {} characters: run hftguard as that user or use pidfile",
          what, scan.unsure.front(), pm::kCommLength));
    } else if (n < minCount) {
      out = ProbeOutcome::failed(fmt::format("{}: {} running, need {}", what, n, minCount));
    }
    out.observe("count", static_cast<double>(n));
    if (!scan.found.empty()) out.observe("pid", scan.found.front());
    return out;
  }

  // The processes found last time, if every one still runs and matches.
  std::optional<Scan> recheckKnown() const {
    if (known_.empty() || scans_ + 1 >= kRescanEvery) return std::nullopt;
    Scan scan;
    for (int pid : known_) {
      const Match m = match(pid);
      if (m == Match::No || m == Match::Unsure || !alive(root_, pid)) return std::nullopt;
      scan.found.push_back(pid);
      if (m == Match::YesReplaced) ++scan.replaced;
      if (m == Match::ByComm) ++scan.by_comm;
    }
    return scan;
  }

  Match match(int pid) const {
    return check_.params.has("executable") ? matchExecutable(pid) : matchCmdline(pid);
  }

  Scan scanProcesses() const {
    Scan scan;
    for (int pid : procfs::pids(root_)) {
      const Match m = match(pid);
      if (m == Match::No || !alive(root_, pid)) continue;
      if (m == Match::Unsure) {
        scan.unsure.push_back(pid);
        continue;
      }
      scan.found.push_back(pid);
      if (m == Match::YesReplaced) ++scan.replaced;
      if (m == Match::ByComm) ++scan.by_comm;
    }
    return scan;
  }

  Match matchExecutable(int pid) const {
    const std::string& exe = check_.params.str("executable");
    const pm::ExeRead read = pm::readExe(root_, pid);
    if (read.link) {
      if (!pm::exeMatches(read.link->path, exe)) return Match::No;
      return read.link->deleted ? Match::YesReplaced : Match::Yes;
    }
    if (read.error != EACCES && read.error != EPERM) return Match::No;  // kernel thread, gone
    // Another user's process: comm is the name of the file the kernel executed (argv[0]
    // does not change it), cut to 15 characters. Only a whole name proves it.
    auto comm = procfs::comm(root_, pid);
    const std::string name = exe.substr(exe.rfind('/') + 1);
    if (!comm || *comm != name.substr(0, pm::kCommLength)) return Match::No;
    const bool whole = name.size() <= pm::kCommLength && exe.find('/') == std::string::npos;
    return whole ? Match::ByComm : Match::Unsure;
  }

  Match matchCmdline(int pid) const {
    auto argv = pm::readArgv(root_, pid);
    return argv && pm::argvMatches(*argv, check_.params.list("cmdline")) ? Match::Yes : Match::No;
  }

  ProbeOutcome byPidfile(const std::string& path) const {
    auto text = procfs::readFile(path, 64);
    if (!text) return ProbeOutcome::failed(fmt::format("cannot read pid file {}", path));
    int pid = 0;
    auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), pid);
    if (ec != std::errc{} || pid <= 0) {
      return ProbeOutcome::failed(fmt::format("pid file {} holds no pid", path));
    }
    if (!alive(root_, pid)) {
      return ProbeOutcome::failed(fmt::format("pid {} from {} is not running", pid, path));
    }
    return ProbeOutcome::ok(fmt::format("pid {} running", pid)).observe("pid", pid);
  }

  const CheckConfig& check_;
  std::string root_;
  std::vector<int> known_;  // what the last healthy run found
  int scans_ = 0;           // runs answered from known_ since the last full scan
};

}  // namespace

std::unique_ptr<Probe> makeProcess(const CheckConfig& c, ProbeEnv& env) {
  return std::make_unique<ProcessProbe>(c, env);
}

}  // namespace hftguard::probes::kinds

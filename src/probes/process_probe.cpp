// process: is the process running, from /proc (no pgrep): by executable name, by a
// command-line substring, or by pid file. Zombies do not count as running.
#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "kinds.hpp"
#include "procfs.hpp"

namespace hftguard::probes::kinds {
namespace {

bool alive(const std::string& root, int pid) {
  auto st = procfs::processStat(root, pid);
  return st && st->state != 'Z' && st->state != 'X';
}

class ProcessProbe final : public Probe {
 public:
  ProcessProbe(const CheckConfig& c, ProbeEnv& env) : check_(c), root_(env.proc_root) {}

  void start(Done done) override { done(evaluate()); }

 private:
  ProbeOutcome evaluate() const {
    const auto& p = check_.params;
    if (p.has("pidfile")) return byPidfile(p.str("pidfile"));
    const auto minCount = static_cast<std::size_t>(p.integer("min_count"));
    std::vector<int> found;
    const std::string what = p.has("executable")
                                 ? "executable " + p.str("executable")
                                 : "command line containing '" + p.str("cmdline") + "'";
    for (int pid : procfs::pids(root_)) {
      if (matches(pid) && alive(root_, pid)) found.push_back(pid);
    }
    ProbeOutcome out =
        found.size() >= minCount
            ? ProbeOutcome::ok(fmt::format("{} running ({} process{})", what, found.size(),
                                           found.size() == 1 ? "" : "es"))
            : ProbeOutcome::failed(
                  fmt::format("{}: {} running, need {}", what, found.size(), minCount));
    out.observe("count", static_cast<double>(found.size()));
    if (!found.empty()) out.observe("pid", found.front());
    return out;
  }

  bool matches(int pid) const {
    const auto& p = check_.params;
    if (p.has("executable")) {
      // comm holds at most 15 characters; argv[0]'s basename catches longer names.
      const std::string& exe = p.str("executable");
      if (auto c = procfs::comm(root_, pid); c && *c == exe) return true;
      auto cmd = procfs::cmdline(root_, pid);
      if (!cmd || cmd->empty()) return false;
      std::string argv0 = cmd->substr(0, cmd->find(' '));
      argv0 = argv0.substr(argv0.rfind('/') + 1);
      return argv0 == exe;
    }
    auto cmd = procfs::cmdline(root_, pid);
    return cmd && cmd->find(p.str("cmdline")) != std::string::npos;
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
};

}  // namespace

std::unique_ptr<Probe> makeProcess(const CheckConfig& c, ProbeEnv& env) {
  return std::make_unique<ProcessProbe>(c, env);
}

}  // namespace hftguard::probes::kinds

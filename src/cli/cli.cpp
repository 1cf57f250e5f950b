#include "hftguard/cli/cli.hpp"

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <iostream>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "hftguard/config/loader.hpp"
#include "hftguard/core/suggest.hpp"
#include "hftguard/version.hpp"

#include "commands.hpp"

namespace hftguard::cli {
namespace {

struct Command {
  std::string_view name;
  std::string_view usage;
  std::string_view summary;
  ArgSpec spec;
  std::function<int(const Args&, std::ostream&, std::ostream&)> fn;
};

const std::vector<Command>& commands() {
  static const std::vector<Command> all = {
      {"run",
       "run --config FILE [--log-level LEVEL] [--stop-timeout DURATION]",
       "Run the daemon: probe, decide, fail over, record (what systemd starts); on SIGTERM a "
       "running plan gets its deadline, at most --stop-timeout, to finish",
       {.options = {"config", "log-level", "stop-timeout"}},
       cmdRun},
      {"check-config",
       "check-config FILE",
       "Validate a config; print every error as file:line:col, or a summary (exit 0/1)",
       {.min_positional = 1, .max_positional = 1},
       cmdCheckConfig},
      {"probe",
       "probe --config FILE (COMPONENT/CHECK | --all)",
       "Run checks once, now, and print what the daemon sees (exit 1 if any failed)",
       {.options = {"config"}, .flags = {"all"}, .max_positional = 1},
       cmdProbe},
      {"events",
       "events [--config F | --file LOG] [--follow] [--component C] [--type T[,T...]] [--since T] "
       "[--json]",
       "Print the event log readably (or as JSON lines), filtered; --follow waits for more",
       {.options = {"config", "file", "component", "type", "since"}, .flags = {"follow", "json"}},
       cmdEvents},
      {"explain",
       "explain [--config F | --file LOG] EVENT_ID",
       "The chain behind a decision: samples, rule, tier, cooldown and damping state",
       {.options = {"config", "file"}, .min_positional = 1, .max_positional = 1},
       cmdExplain},
      {"failover",
       "failover [--config F] COMPONENT [--dry-run | --resume | --abandon [--force]] [--reason "
       "TEXT]",
       "Run the component's failover plan now; --dry-run checks every step and changes nothing; "
       "--resume / --abandon an interrupted plan",
       {.options = {"config", "reason"},
        .flags = {"dry-run", "resume", "abandon", "force"},
        .min_positional = 1,
        .max_positional = 1},
       cmdFailover},
      {"alert-test",
       "alert-test [--config F] [--channel NAME]",
       "Send a test alert through every channel (or one) and say whether it arrived",
       {.options = {"config", "channel"}},
       cmdAlertTest},
      {"drill",
       "drill [--config F] --scenario NAME[,NAME...|all] [--repeat N] [--report DIR] "
       "[--events FILE[,FILE...]]",
       "The failover drill against the running daemon (or every daemon of a cluster, one event "
       "log each): inject, let it fail over, verify, measure each phase, restore",
       {.options = {"config", "scenario", "repeat", "report", "events"}},
       cmdDrill},
      {"maintenance",
       "maintenance (start|end|list) [--config F] [--component C] [--for D] [--reason R] [--owner "
       "O]",
       "Maintenance of a component or the whole node: probing goes on, automatic failover does not",
       {.options = {"config", "component", "for", "reason", "owner"},
        .min_positional = 1,
        .max_positional = 1},
       cmdMaintenance},
      {"member",
       "member [--config F] COMPONENT [MEMBER (--ready | --fence)] [--reason TEXT]",
       "A component's roles; return a rebuilt member (--ready) or take a standby out (--fence)",
       {.options = {"config", "reason"},
        .flags = {"ready", "fence"},
        .min_positional = 1,
        .max_positional = 2},
       cmdMember},
      {"status",
       "status [--config F] [--json]",
       "What the running daemon sees: health, roles, epoch, leader, pause and maintenance, the "
       "standby's readiness, the last failover with its RTO; "
       "without a daemon, the roles as stored",
       {.options = {"config"}, .flags = {"json"}},
       cmdStatus},
      {"pause",
       "pause [--config F] --reason TEXT [--owner O] [--json]",
       "Hold automatic failover (every daemon of the cluster with etcd) until resume; probing "
       "and recording go on",
       {.options = {"config", "reason", "owner"}, .flags = {"json"}},
       cmdPause},
      {"resume",
       "resume [--config F] [--owner O] [--json]",
       "End a pause",
       {.options = {"config", "reason", "owner"}, .flags = {"json"}},
       cmdResume},
      {"switchover",
       "switchover [--config F] COMPONENT [--candidate M] [--dry-run] [--reason TEXT] [--json]",
       "A planned failover run by the daemon: pre-checks, automation held, the switchover "
       "plan, post-checks, released; each check printed as it is recorded",
       {.options = {"config", "candidate", "reason", "owner"},
        .flags = {"dry-run", "json"},
        .min_positional = 1,
        .max_positional = 1},
       cmdSwitchover},
      {"reload",
       "reload [--config F] [--json]",
       "The daemon reads its config again and applies it in place, or says why not (an invalid "
       "file, a key only a restart applies, a failover in flight); as SIGHUP does",
       {.options = {"config"}, .flags = {"json"}},
       cmdReload},
      {"version", "version", "Print the version", {}, nullptr},
      {"help", "help", "List the commands", {}, nullptr},
  };
  return all;
}

void printHelp(std::ostream& out) {
  fmt::print(out, "hftguard {} - failure detection and automated failover for trading stacks\n\n",
             kVersion);
  fmt::print(out, "usage: hftguard <command> [options]\n\ncommands:\n");
  for (const Command& c : commands()) fmt::print(out, "  {}\n      {}\n", c.usage, c.summary);
  fmt::print(out,
             "\noptions: --version, --help. Exit codes: 0 ok, 1 failed, 2 usage error.\n"
             "Docs: docs/config.md (every config key), docs/operations.md.\n");
}

}  // namespace

std::string operatorName() {
  for (const char* var : {"SUDO_USER", "USER", "LOGNAME"}) {
    if (const char* v = std::getenv(var); v != nullptr && *v != '\0') return v;
  }
  return "unknown";
}

std::shared_ptr<const config::Config> loadOrReport(const std::string& path, std::ostream& err) {
  config::LoadResult r = config::loadConfigFile(path);
  for (const config::ConfigError& e : r.errors) err << e.format() << '\n';
  if (!r.ok()) {
    fmt::print(err, "{}: {} error{}; nothing was started\n", path, r.errors.size(),
               r.errors.size() == 1 ? "" : "s");
  }
  return r.config;
}

std::optional<std::string> configPath(const Args& args, std::ostream& err) {
  auto path = args.option("config");
  if (!path) err << "hftguard: --config FILE is required\n";
  return path;
}

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    printHelp(err);
    return kExitUsage;
  }
  const std::string& name = args.front();
  if (name == "--version" || name == "version") {
    fmt::print(out, "hftguard {}\n", kVersion);
    return kExitOk;
  }
  if (name == "--help" || name == "-h" || name == "help") {
    printHelp(out);
    return kExitOk;
  }
  for (const Command& c : commands()) {
    if (c.name != name || !c.fn) continue;
    // `hftguard CMD --help`: what it does and takes, exit 0 (before any other check).
    if (std::any_of(args.begin() + 1, args.end(),
                    [](const std::string& a) { return a == "--help" || a == "-h"; })) {
      fmt::print(out, "usage: hftguard {}\n\n{}\n\nExit codes: 0 ok, 1 failed, 2 usage error. "
                      "--config defaults to /etc/hftguard/hftguard.yaml.\n",
                 c.usage, c.summary);
      return kExitOk;
    }
    Args parsed;
    if (auto problem = parseArgs({args.begin() + 1, args.end()}, c.spec, parsed)) {
      fmt::print(err, "hftguard {}: {}\nusage: hftguard {}\n", name, *problem, c.usage);
      return kExitUsage;
    }
    return c.fn(parsed, out, err);
  }
  std::vector<std::string_view> names;
  for (const Command& c : commands()) names.push_back(c.name);
  fmt::print(err, "hftguard: unknown command '{}'", name);
  if (auto near = closestMatch(name, names)) fmt::print(err, "; did you mean '{}'?", *near);
  fmt::print(err, "\nRun 'hftguard help' for the list of commands.\n");
  return kExitUsage;
}

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return run(args, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "hftguard: fatal: " << e.what() << '\n';
    return kExitFailed;
  }
}

}  // namespace hftguard::cli

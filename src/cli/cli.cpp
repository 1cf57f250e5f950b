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

using CommandFn = int (*)(const Args&, std::ostream&, std::ostream&);

struct Command {
  CommandSpec spec;
  CommandFn fn;
};

const OptionSpec kReason{"reason", "TEXT", "Why: recorded in the event log and in alerts"};
const OptionSpec kOwner{"owner", "NAME", "Who (default: $SUDO_USER, $USER or $LOGNAME)"};
const OptionSpec kLogFile{"file", "LOG",
                          "Read this event log instead of the config's event_log.path"};
const PositionalSpec kComponent{"COMPONENT", "A component of the config"};

const std::vector<Command>& commands() {
  static const std::vector<Command> all = {
      {{.name = "run",
        .synopsis = "run [--config FILE] [--log-level LEVEL] [--stop-timeout DURATION]",
        .summary = "Run the daemon: probe, decide, fail over, record (what systemd starts); on "
                   "SIGTERM a running plan gets its deadline, at most --stop-timeout, to finish",
        .options = {{"log-level", "LEVEL",
                     "trace|debug|info|warn|error; overrides logging.level, also after a reload"},
                    {"stop-timeout", "DURATION",
                     "On SIGTERM, at most how long a running plan may go on (default: its deadline)"}}},
       cmdRun},
      {{.name = "check-config",
        .synopsis = "check-config [FILE | --config FILE] [--json]",
        .summary = "Validate a config; print every error as file:line:col, or a summary of what "
                   "the daemon will do with it (exit 0 valid, 1 invalid)",
        .positionals = {{"FILE", "The config file to check (the same as --config FILE)", false}},
        .json = true},
       cmdCheckConfig},
      {{.name = "probe",
        .synopsis = "probe [--config FILE] (COMPONENT/CHECK | --all) [--json]",
        .summary = "Run checks once, now, and print what the daemon sees (exit 1 if any failed)",
        .options = {{"all", "", "Every check of every component"}},
        .positionals = {{"CHECK", "The check to run, as COMPONENT/CHECK", false}},
        .json = true},
       cmdProbe},
      {{.name = "events",
        .synopsis = "events [--config FILE | --file LOG] [--follow] [--component C] "
                    "[--type T[,T...]] [--since TIME] [--json]",
        .summary = "Print the event log readably (or as JSON lines), filtered; --follow waits "
                   "for more",
        .options = {kLogFile,
                    {"follow", "", "Keep printing events as they are appended"},
                    {"component", "NAME", "Only this component's events"},
                    {"type", "TYPE[,TYPE...]", "Only events of these types"},
                    {"since", "TIME", "Only events since then: an RFC 3339 time (2026-11-27T09:30:00+01:00) or a duration back from now (10m)"}},
        .json = true},
       cmdEvents},
      {{.name = "explain",
        .synopsis = "explain [--config FILE | --file LOG] EVENT_ID [--json]",
        .summary = "The chain behind a decision: samples, rule, tier, cooldown and damping state",
        .options = {kLogFile},
        .positionals = {{"EVENT_ID", "The id of the event to explain (hftguard events shows it)"}},
        .json = true},
       cmdExplain},
      {{.name = "failover",
        .synopsis = "failover [--config FILE] COMPONENT [--dry-run | --resume | --abandon "
                    "[--force]] [--reason TEXT] [--json]",
        .summary = "Run the component's failover plan now; --dry-run checks every step and "
                   "changes nothing; --resume / --abandon an interrupted plan",
        .options = {{"dry-run", "", "Check every step; change nothing"},
                    {"resume", "", "Go on with an interrupted plan from its journal"},
                    {"abandon", "", "Drop an interrupted plan's journal and release its lock"},
                    {"force", "", "With --abandon: even when its owner may still run it"},
                    kReason},
        .positionals = {kComponent},
        .json = true},
       cmdFailover},
      {{.name = "alert-test",
        .synopsis = "alert-test [--config FILE] [--channel NAME] [--json]",
        .summary = "Send a test alert through every channel (or one) and say whether it arrived",
        .options = {{"channel", "NAME", "Only this alert channel"}},
        .json = true},
       cmdAlertTest},
      {{.name = "drill",
        .synopsis = "drill [--config FILE] --scenario NAME[,NAME...|all] [--repeat N] "
                    "[--report DIR] [--events FILE[,FILE...]] [--json]",
        .summary = "The failover drill against the running daemon (or every daemon of a "
                   "cluster, one event log each): inject, let it fail over, verify, measure "
                   "each phase, restore",
        .options = {{"scenario", "NAME[,NAME...]", "The scenarios to run, or all"},
                    {"repeat", "N", "Runs of each scenario (1..1000, default 1)"},
                    {"report", "DIR", "Write the report there as JSON and Markdown"},
                    {"events", "FILE[,FILE...]",
                     "Every daemon's event log (default: the config's event_log.path)"}},
        .json = true},
       cmdDrill},
      {{.name = "maintenance",
        .synopsis = "maintenance (start|end|list) [--config FILE] [--component C] [--for D] "
                    "[--reason R] [--owner O] [--json]",
        .summary = "Maintenance of a component or the whole node: probing goes on, automatic "
                   "failover does not",
        .options = {{"component", "NAME", "The component (default: the whole node)"},
                    {"for", "DURATION", "start: how long the window lasts"},
                    kReason,
                    kOwner},
        .positionals = {{"ACTION", "start, end or list", true, {"start", "end", "list"}}},
        .json = true},
       cmdMaintenance},
      {{.name = "member",
        .synopsis = "member [--config FILE] COMPONENT [MEMBER (--ready | --fence)] [--reason "
                    "TEXT] [--json]",
        .summary = "A component's roles; return a rebuilt member (--ready) or take a standby "
                   "out (--fence)",
        .options = {{"ready", "", "The member is rebuilt: it may be the standby again"},
                    {"fence", "", "Take the member out: never promoted until --ready"},
                    kReason},
        .positionals = {kComponent, {"MEMBER", "A member of the component", false}},
        .json = true},
       cmdMember},
      {{.name = "status",
        .synopsis = "status [--config FILE] [--json]",
        .summary = "What the running daemon sees: health, roles, epoch, leader, pause and "
                   "maintenance, the standby's readiness, the last failover with its RTO; "
                   "without a daemon, the roles as stored",
        .json = true},
       cmdStatus},
      {{.name = "pause",
        .synopsis = "pause [--config FILE] --reason TEXT [--owner O] [--json]",
        .summary = "Hold automatic failover (every daemon of the cluster with etcd) until "
                   "resume; probing and recording go on",
        .options = {{"reason", "TEXT", "Why: recorded, and shown by status", true}, kOwner},
        .json = true},
       cmdPause},
      {{.name = "resume",
        .synopsis = "resume [--config FILE] [--owner O] [--reason TEXT] [--json]",
        .summary = "End a pause",
        .options = {kReason, kOwner},
        .json = true},
       cmdResume},
      {{.name = "switchover",
        .synopsis = "switchover [--config FILE] COMPONENT [--candidate M] [--dry-run] "
                    "[--reason TEXT] [--owner O] [--json]",
        .summary = "A planned failover run by the daemon: pre-checks, automation held, the "
                   "switchover plan, post-checks, released; each check printed as it is "
                   "recorded",
        .options = {{"candidate", "MEMBER", "The standby to promote (default: the standby)"},
                    {"dry-run", "", "Run the pre-checks and the plan's checks; change nothing"},
                    kReason,
                    kOwner},
        .positionals = {kComponent},
        .json = true},
       cmdSwitchover},
      {{.name = "reload",
        .synopsis = "reload [--config FILE] [--json]",
        .summary = "The daemon reads its config again and applies it in place, or says why not "
                   "(an invalid file, a key only a restart applies, a failover in flight); as "
                   "SIGHUP does",
        .json = true},
       cmdReload},
      {{.name = "version",
        .synopsis = "version [--json]",
        .summary = "Print the version",
        .config = false,
        .json = true},
       cmdVersion},
      {{.name = "help",
        .synopsis = "help [COMMAND]",
        .summary = "List the commands, or show one command's help",
        .positionals = {{"COMMAND", "The command to explain", false}},
        .config = false},
       nullptr},
  };
  return all;
}

void printHelp(std::ostream& out) {
  fmt::print(out, "hftguard {} - failure detection and automated failover for trading stacks\n\n",
             kVersion);
  fmt::print(out, "usage: hftguard <command> [options]\n\ncommands:\n");
  for (const Command& c : commands()) {
    fmt::print(out, "  {}\n      {}\n", c.spec.synopsis, c.spec.summary);
  }
  fmt::print(out,
             "\nEvery command takes --help. --config FILE (or -c) names the config everywhere; "
             "without it\n$HFTGUARD_CONFIG, else {}. Exit codes: 0 ok, 1 failed, 2 usage "
             "error.\nDocs: docs/config.md (every config key), docs/operations.md.\n",
             kDefaultConfigPath);
}

const Command* findCommand(std::string_view name) {
  for (const Command& c : commands()) {
    if (c.spec.name == name) return &c;
  }
  return nullptr;
}

int unknownCommand(const std::string& name, std::ostream& err) {
  std::vector<std::string_view> names;
  for (const Command& c : commands()) names.push_back(c.spec.name);
  fmt::print(err, "hftguard: unknown command '{}'", name);
  if (auto near = closestMatch(name, names)) fmt::print(err, "; did you mean '{}'?", *near);
  fmt::print(err, "\nRun 'hftguard help' for the list of commands.\n");
  return kExitUsage;
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

int cmdVersion(const Args& args, std::ostream& out, std::ostream&) {
  if (args.json()) {
    out << nlohmann::json{{"version", kVersion}}.dump(2) << "\n";
  } else {
    fmt::print(out, "hftguard {}\n", kVersion);
  }
  return kExitOk;
}

// Bytes that are not UTF-8 (a target's error text) are replaced, never a throw.
void printJson(std::ostream& out, const nlohmann::json& j) {
  out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    printHelp(err);
    return kExitUsage;
  }
  const std::string& name = args.front();
  if (name == "--version") return cmdVersion(Args{}, out, err);
  if (name == "--help" || name == "-h") {
    printHelp(out);
    return kExitOk;
  }
  const Command* c = findCommand(name);
  if (c == nullptr) return unknownCommand(name, err);
  Args parsed;
  if (auto code = parseCommand(c->spec, {args.begin() + 1, args.end()}, parsed, out, err)) {
    return *code;
  }
  if (c->fn != nullptr) return c->fn(parsed, out, err);
  // help [COMMAND]
  if (parsed.positional.empty()) {
    printHelp(out);
    return kExitOk;
  }
  const Command* about = findCommand(parsed.positional.front());
  if (about == nullptr) return unknownCommand(parsed.positional.front(), err);
  out << commandHelp(about->spec);
  return kExitOk;
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

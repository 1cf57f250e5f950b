#pragma once
// Private to the CLI: one function per subcommand, registered in cli.cpp.

#include <functional>
#include <iosfwd>
#include <vector>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "hftguard/config/config.hpp"
#include "hftguard/events/event.hpp"

#include "args.hpp"

namespace hftguard::probes {
struct ProbeResult;
}
namespace hftguard::coord {
struct Roles;
}
namespace hftguard::control {
struct MaintenanceEntry;
}

namespace hftguard::cli {

int cmdCheckConfig(const Args& args, std::ostream& out, std::ostream& err);
int cmdRun(const Args& args, std::ostream& out, std::ostream& err);
int cmdProbe(const Args& args, std::ostream& out, std::ostream& err);
int cmdEvents(const Args& args, std::ostream& out, std::ostream& err);
int cmdExplain(const Args& args, std::ostream& out, std::ostream& err);
int cmdMaintenance(const Args& args, std::ostream& out, std::ostream& err);
int cmdFailover(const Args& args, std::ostream& out, std::ostream& err);
int cmdAlertTest(const Args& args, std::ostream& out, std::ostream& err);
int cmdDrill(const Args& args, std::ostream& out, std::ostream& err);
int cmdMember(const Args& args, std::ostream& out, std::ostream& err);
int cmdStatus(const Args& args, std::ostream& out, std::ostream& err);
int cmdPause(const Args& args, std::ostream& out, std::ostream& err);
int cmdResume(const Args& args, std::ostream& out, std::ostream& err);
int cmdReload(const Args& args, std::ostream& out, std::ostream& err);
int cmdSwitchover(const Args& args, std::ostream& out, std::ostream& err);
int cmdVersion(const Args& args, std::ostream& out, std::ostream& err);
// `status` without a daemon to ask: the roles as stored (state file or etcd).
int statusFromStore(const Args& args, std::ostream& out, std::ostream& err);
// The same into `json` (printed as a table when `print`): the roles as stored, and with etcd
// what each daemon reports and a plan in flight. The exit code.
int storeStatus(const config::Config& cfg, bool print, std::ostream& out, std::ostream& err,
                nlohmann::json& json);
// Changes the maintenance windows where the daemons read them (etcd's cluster key, else the
// host's file), waiting at most 10 s; "" or why. `change` returns "" to write, else why not.
std::string storeWindows(const config::Config& cfg,
                         const std::function<std::string(std::vector<control::MaintenanceEntry>&)>& change);

// Loads and validates `path`; prints every error to `err` and returns null when invalid.
std::shared_ptr<const config::Config> loadOrReport(const std::string& path, std::ostream& err);

// `--json`: the value, indented, and a newline.
void printJson(std::ostream& out, const nlohmann::json& j);
// A text field that may be absent: null when empty.
inline nlohmann::json orNull(const std::string& s) {
  return s.empty() ? nlohmann::json() : nlohmann::json(s);
}

// Who runs this command, for events: $SUDO_USER, $USER or $LOGNAME ("unknown").
std::string operatorName();
// Records one event in the config's event log and waits (at most 10 s) until it is on disk;
// the event as recorded.
events::Event recordNow(const config::Config& cfg, const std::string& type, const std::string& component,
               const std::string& reason, nlohmann::json fields);
// A component's roles now, from etcd or the state file; empty optional (why) otherwise.
std::optional<coord::Roles> readRoles(const config::Config& cfg, const config::ComponentConfig& c,
                                      std::string* why);
// What `hftguard member C M --ready|--fence` does: the change (in etcd, or in the state file
// under the component's plan lock), recorded. "" (and `after`) or why not.
std::string changeMember(const config::Config& cfg, const config::ComponentConfig& c,
                         const std::string& member, bool ready, const std::string& reason,
                         coord::Roles& after);
// One line per result: COMPONENT/CHECK, type, status, latency, reason, observations.
void printResult(std::ostream& out, const probes::ProbeResult& r);

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

}  // namespace hftguard::cli

#pragma once
// Private to the CLI: one function per subcommand, registered in cli.cpp.

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "hftguard/config/config.hpp"

#include "args.hpp"

namespace hftguard::probes {
struct ProbeResult;
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

// Loads and validates `path`; prints every error to `err` and returns null when invalid.
std::shared_ptr<const config::Config> loadOrReport(const std::string& path, std::ostream& err);

// The --config option; prints a usage error and returns nullopt when missing.
std::optional<std::string> configPath(const Args& args, std::ostream& err);

// Who runs this command, for events: $SUDO_USER, $USER or $LOGNAME ("unknown").
std::string operatorName();
// One line per result: COMPONENT/CHECK, type, status, latency, reason, observations.
void printResult(std::ostream& out, const probes::ProbeResult& r);

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

}  // namespace hftguard::cli

#pragma once
// Private to the CLI: what the daemon tells systemd (Type=notify) through libsystemd's
// sd_notify - READY=1 once its probes run, STATUS= with its one-line state, RELOADING=1 and
// STOPPING=1, and WATCHDOG=1 from the event loop itself (a timer at a third of
// WatchdogSec), so a loop that stalls stops the pings and systemd restarts the daemon.
// Without $NOTIFY_SOCKET (not started by systemd) every call does nothing.

#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace hftguard::cli {

class SystemdNotifier {
 public:
  explicit SystemdNotifier(boost::asio::io_context& io);
  ~SystemdNotifier();

  void ready(const std::string& status);
  void status(const std::string& status);  // sent only when it changed
  void reloading();
  void stopping();
  // Starts the pings when systemd asked for them ($WATCHDOG_USEC for this process).
  void startWatchdog();
  void stopWatchdog();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hftguard::cli

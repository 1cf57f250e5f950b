#include "systemd_notify.hpp"

#include <chrono>
#include <cstring>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

namespace hftguard::cli {

struct SystemdNotifier::Impl {
  explicit Impl(boost::asio::io_context& io) : timer(io) {}

  void send(const std::string& text) {
    const int r = sd_notify(0, text.c_str());
    if (r < 0 && !warned) {
      warned = true;
      spdlog::warn("sd_notify failed: {}", std::strerror(-r));
    }
  }

  void ping() {
    timer.expires_after(every);
    timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      send("WATCHDOG=1");
      ping();
    });
  }

  boost::asio::steady_timer timer;
  std::chrono::microseconds every{0};
  std::string last_status;
  bool warned = false;
};

SystemdNotifier::SystemdNotifier(boost::asio::io_context& io)
    : impl_(std::make_unique<Impl>(io)) {}
SystemdNotifier::~SystemdNotifier() = default;

void SystemdNotifier::ready(const std::string& status) {
  impl_->last_status = status;
  impl_->send("READY=1\nSTATUS=" + status);
}

void SystemdNotifier::status(const std::string& status) {
  if (status == impl_->last_status) return;
  impl_->last_status = status;
  impl_->send("STATUS=" + status);
}

void SystemdNotifier::reloading() {
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count();
  // systemd 253+ wants the monotonic time with RELOADING=1; older ones ignore it.
  impl_->send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(now));
}

void SystemdNotifier::stopping() { impl_->send("STOPPING=1"); }

void SystemdNotifier::startWatchdog() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  impl_->every = std::chrono::microseconds(usec / 3);
  spdlog::info("systemd watchdog: {} ms, pinged every {} ms from the event loop", usec / 1000,
               usec / 3000);
  impl_->send("WATCHDOG=1");
  impl_->ping();
}

void SystemdNotifier::stopWatchdog() { impl_->timer.cancel(); }

}  // namespace hftguard::cli

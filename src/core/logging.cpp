#include "hftguard/core/logging.hpp"

#include <cstdlib>
#include <memory>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace hftguard {
namespace {

// Adds journald's "<N>" priority prefix (sd-daemon(3)) for %*.
class SyslogPriorityFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr char kPriority[] = {'7', '7', '6', '4', '3', '2', '6'};
    dest.push_back('<');
    dest.push_back(kPriority[static_cast<int>(msg.level)]);
    dest.push_back('>');
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<SyslogPriorityFlag>();
  }
};

}  // namespace

std::optional<spdlog::level::level_enum> parseLogLevel(std::string_view name) {
  for (int l = spdlog::level::trace; l <= spdlog::level::off; ++l) {
    auto level = static_cast<spdlog::level::level_enum>(l);
    if (spdlog::level::to_string_view(level) == name) return level;
  }
  if (name == "warn") return spdlog::level::warn;
  return std::nullopt;
}

void setupLogging(spdlog::level::level_enum level) {
  auto logger = spdlog::get("hftguard");
  if (!logger) {
    logger = spdlog::stderr_logger_mt("hftguard");
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    if (std::getenv("JOURNAL_STREAM") != nullptr) {
      formatter->add_flag<SyslogPriorityFlag>('*').set_pattern("%*%v");
    } else {
      formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
    }
    logger->set_formatter(std::move(formatter));
    spdlog::set_default_logger(logger);
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
}

}  // namespace hftguard

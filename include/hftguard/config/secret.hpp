#pragma once
// A credential read from a *_file key or a ${ENV_VAR}. It has no operator<< and no fmt
// formatter on purpose: printing one is a compile error, and describe() says only where
// it came from.

#include <string>
#include <utility>

namespace hftguard::config {

class Secret {
 public:
  Secret() = default;
  Secret(std::string value, std::string origin)
      : value_(std::move(value)), origin_(std::move(origin)) {}

  const std::string& reveal() const { return value_; }
  // "file /etc/hftguard/pg.pass" or "env PG_PASSWORD": safe to log.
  const std::string& describe() const { return origin_; }
  bool empty() const { return value_.empty(); }

  bool operator==(const Secret&) const = default;

 private:
  std::string value_;
  std::string origin_;
};

}  // namespace hftguard::config

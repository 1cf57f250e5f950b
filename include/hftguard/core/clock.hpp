#pragma once
// Time is injected: logic asks a Clock, tests give it a ManualClock and never sleep.

#include <chrono>

#include "hftguard/core/duration.hpp"

namespace hftguard {

using SteadyTime = std::chrono::steady_clock::time_point;  // for intervals and deadlines
using WallTime = std::chrono::system_clock::time_point;    // for what humans read

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SteadyTime now() const = 0;
  virtual WallTime wallNow() const = 0;
};

class SystemClock final : public Clock {
 public:
  SteadyTime now() const override { return std::chrono::steady_clock::now(); }
  WallTime wallNow() const override { return std::chrono::system_clock::now(); }
};

// A clock that moves only when told to; wall time moves with it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(WallTime wall_start = WallTime{std::chrono::hours(24 * 365 * 56)})
      : wall_start_(wall_start) {}
  SteadyTime now() const override { return now_; }
  WallTime wallNow() const override {
    return wall_start_ + std::chrono::duration_cast<WallTime::duration>(now_ - SteadyTime{});
  }
  void advance(Duration d) { now_ += d; }

 private:
  WallTime wall_start_;
  SteadyTime now_{};
};

}  // namespace hftguard

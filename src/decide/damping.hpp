#pragma once
// Private to the decider: BGP-style route-flap damping (RFC 2439). Each flap adds a
// penalty that halves every half-life; above `suppress_above` failovers are held until it
// decays below `reuse_below`. The penalty is capped so that no suppression outlasts
// `max_suppress`.

#include <algorithm>
#include <cmath>

#include "hftguard/config/config.hpp"
#include "hftguard/core/clock.hpp"

namespace hftguard::decide {

class FlapDamper {
 public:
  explicit FlapDamper(const config::FlapDamping& cfg) : cfg_(cfg) {}
  // A reload: the penalty so far stays (decaying by the new settings).
  void carryFrom(const FlapDamper& was) {
    penalty_ = was.penalty_;
    at_ = was.at_;
    suppressed_ = was.suppressed_;
  }

  void flap(SteadyTime now) {
    if (!cfg_.enabled) return;
    penalty_ = std::min(penalty(now) + cfg_.penalty, ceiling());
    at_ = now;
  }

  double penalty(SteadyTime now) const {
    if (penalty_ <= 0 || cfg_.half_life <= Duration::zero()) return 0;
    const double halfLives = std::chrono::duration<double>(now - at_).count() /
                             std::chrono::duration<double>(cfg_.half_life).count();
    return penalty_ * std::exp2(-halfLives);
  }

  // With hysteresis: suppression starts above suppress_above, ends below reuse_below.
  bool suppressed(SteadyTime now) {
    if (!cfg_.enabled) return false;
    const double p = penalty(now);
    if (!suppressed_ && p > cfg_.suppress_above) suppressed_ = true;
    if (suppressed_ && p < cfg_.reuse_below) suppressed_ = false;
    return suppressed_;
  }

 private:
  double ceiling() const {
    const double halfLives = std::chrono::duration<double>(cfg_.max_suppress).count() /
                             std::chrono::duration<double>(cfg_.half_life).count();
    return cfg_.reuse_below * std::exp2(halfLives);
  }

  const config::FlapDamping& cfg_;
  double penalty_ = 0;
  SteadyTime at_{};
  bool suppressed_ = false;
};

}  // namespace hftguard::decide

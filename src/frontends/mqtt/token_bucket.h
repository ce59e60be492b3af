// TokenBucket: lets at most `rate` events a second through on average, in
// bursts of at most `burst`, on the injected clock. The MQTT frontend bounds
// the rate of its `overloaded` replies with one.
//
// Thread-safety: not thread-safe; one thread (the MQTT network thread) uses it.
#pragma once

#include <algorithm>
#include <chrono>

#include "core/clock.h"

namespace infergate::mqtt {

class TokenBucket {
 public:
  // Starts full. `rate` > 0 tokens a second, `burst` >= 1.
  TokenBucket(const core::Clock* clock, double rate, double burst)
      : clock_(clock), rate_(rate), burst_(burst), tokens_(burst), last_(clock->Now()) {}

  // Whether a token is there now (refills first).
  bool Available() {
    Refill();
    return tokens_ >= 1.0;
  }
  // Takes a token when there is one.
  bool TryTake() {
    if (!Available()) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  void Refill() {
    core::TimePoint now = clock_->Now();
    if (now <= last_) return;
    tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
    last_ = now;
  }

  const core::Clock* clock_;
  const double rate_;
  const double burst_;
  double tokens_;
  core::TimePoint last_;
};

}  // namespace infergate::mqtt

// CircuitBreaker: stops sending escalations to a target that keeps failing.
//
//   closed --(`failures` consecutive failures)--> open
//   open   --(open_for elapsed, next Allow)-----> half-open: one probe let through
//   half-open --probe succeeds--> closed;  --probe fails--> open again
//
// While open (and while the half-open probe is in flight) Allow() says no at
// once, so a dead target costs no latency. Time comes from the injected Clock.
//
// Thread-safety: every method from any thread.
#pragma once

#include <cstdint>
#include <mutex>

#include "core/clock.h"

namespace infergate::engine {

class CircuitBreaker {
 public:
  enum class State { kClosed = 0, kOpen = 1, kHalfOpen = 2 };

  // `failures` >= 1; `open_for` the cool-down before the probe.
  CircuitBreaker(int64_t failures, core::Duration open_for, const core::Clock* clock);

  // Whether to try the target now. A true answer must be followed by exactly
  // one OnSuccess or OnFailure.
  bool Allow();
  void OnSuccess();
  void OnFailure();
  State state() const;

 private:
  const int64_t failures_;
  const core::Duration open_for_;
  const core::Clock* clock_;
  mutable std::mutex mu_;
  State state_ = State::kClosed;  // GUARDED_BY(mu_)
  int64_t consecutive_ = 0;       // GUARDED_BY(mu_)
  core::TimePoint opened_at_{};   // GUARDED_BY(mu_)
  bool probing_ = false;          // GUARDED_BY(mu_): the half-open probe is out
};

}  // namespace infergate::engine

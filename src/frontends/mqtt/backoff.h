// Exponential reconnect back-off: delays
// double from `min` up to `max` and go back to `min` after a success, so a
// restarted broker is retried within `max` and tests can predict each delay.
// Time is read through the injected Clock.
//
// Thread-safety: one thread (the MQTT network thread) uses an instance.
#pragma once

#include "core/clock.h"

namespace infergate::mqtt {

class Backoff {
 public:
  Backoff(const core::Clock* clock, core::Duration min, core::Duration max)
      : clock_(clock), min_(min), max_(max), next_delay_(min) {}

  // Records a failed attempt: the next attempt is due after the current
  // delay, and the delay after that doubles (up to max). Returns the delay.
  core::Duration Failed() {
    core::Duration d = next_delay_;
    due_ = clock_->Now() + d;
    next_delay_ = next_delay_ * 2 > max_ ? max_ : next_delay_ * 2;
    return d;
  }
  // Records a success: the next failure waits `min` again.
  void Succeeded() {
    next_delay_ = min_;
    due_ = core::TimePoint{};
  }
  // True when an attempt may be made now.
  bool Due() const { return clock_->Now() >= due_; }
  // Time left until Due() (zero when due).
  core::Duration Remaining() const {
    auto left = due_ - clock_->Now();
    return left > core::Duration::zero() ? left : core::Duration::zero();
  }

 private:
  const core::Clock* clock_;
  core::Duration min_;
  core::Duration max_;
  core::Duration next_delay_;
  core::TimePoint due_{};
};

}  // namespace infergate::mqtt

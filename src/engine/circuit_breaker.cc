#include "engine/circuit_breaker.h"

namespace infergate::engine {

CircuitBreaker::CircuitBreaker(int64_t failures, core::Duration open_for, const core::Clock* clock)
    : failures_(failures < 1 ? 1 : failures), open_for_(open_for), clock_(clock) {}

bool CircuitBreaker::Allow() {
  std::lock_guard lock(mu_);
  switch (state_) {
    case State::kClosed:
      return true;
    case State::kOpen:
      if (clock_->Now() - opened_at_ < open_for_) return false;
      state_ = State::kHalfOpen;
      probing_ = true;
      return true;
    case State::kHalfOpen:
      if (probing_) return false;
      probing_ = true;
      return true;
  }
  return false;
}

void CircuitBreaker::OnSuccess() {
  std::lock_guard lock(mu_);
  state_ = State::kClosed;
  consecutive_ = 0;
  probing_ = false;
}

void CircuitBreaker::OnFailure() {
  std::lock_guard lock(mu_);
  probing_ = false;
  if (state_ == State::kOpen) return;  // an escalation sent before it opened
  if (state_ == State::kHalfOpen || ++consecutive_ >= failures_) {
    state_ = State::kOpen;
    opened_at_ = clock_->Now();
    consecutive_ = 0;
  }
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

}  // namespace infergate::engine

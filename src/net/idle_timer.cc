#include "net/idle_timer.h"

namespace infergate::net {

IdleTimer::IdleTimer(boost::asio::any_io_executor executor, Clock::duration timeout) {
  if (timeout <= Clock::duration::zero()) return;
  state_ = std::make_shared<State>(std::move(executor));
  state_->timeout = timeout;
}

IdleTimer::~IdleTimer() { Cancel(); }

void IdleTimer::Start(std::function<bool()> on_idle) {
  if (!state_) return;
  state_->on_idle = std::move(on_idle);
  state_->last = Clock::now();
  Wait(state_);
}

void IdleTimer::Cancel() {
  if (!state_) return;
  state_->on_idle = nullptr;
  state_->timer.cancel();
}

void IdleTimer::Wait(const std::shared_ptr<State>& state) {
  state->timer.expires_at(state->last + state->timeout);
  // The handler holds the state, not the timer's owner: the owner may go
  // while a wait is pending (Cancel ends it).
  state->timer.async_wait([state](boost::system::error_code ec) {
    if (ec || !state->on_idle) return;
    const Clock::time_point now = Clock::now();
    if (now < state->last + state->timeout) return Wait(state);  // touched meanwhile
    if (state->on_idle()) {
      state->last = now;
      Wait(state);
    }
  });
}

}  // namespace infergate::net

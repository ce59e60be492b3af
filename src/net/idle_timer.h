// IdleTimer: tells a connection when it has been idle for a while. The
// connection calls Touch() on every activity (bytes read or written); that
// only stores the time, the one timer is re-armed when it fires early, so
// activity costs no timer update. When `timeout` has passed since the last
// Touch, `on_idle` is asked: it returns true when the connection is busy
// after all (e.g. a call still open), and the wait starts over.
//
// Thread-safety: only on the executor's thread (the connection's).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>

namespace infergate::net {

class IdleTimer {
 public:
  using Clock = std::chrono::steady_clock;
  // `timeout` <= 0: never idle (Start does nothing).
  IdleTimer(boost::asio::any_io_executor executor, Clock::duration timeout);
  ~IdleTimer();  // Cancel()
  IdleTimer(const IdleTimer&) = delete;
  IdleTimer& operator=(const IdleTimer&) = delete;

  // Starts timing from now. `on_idle` returns true to keep waiting (the
  // connection was busy) and false when it is done; it should hold its
  // connection weakly (the timer does not keep it alive).
  void Start(std::function<bool()> on_idle);
  void Touch() {
    if (state_) state_->last = Clock::now();
  }
  // Stops timing; on_idle is not called again.
  void Cancel();

 private:
  struct State {
    explicit State(boost::asio::any_io_executor executor) : timer(std::move(executor)) {}
    boost::asio::steady_timer timer;
    Clock::time_point last;
    Clock::duration timeout;
    std::function<bool()> on_idle;
  };
  static void Wait(const std::shared_ptr<State>& state);

  std::shared_ptr<State> state_;  // null when there is no timeout
};

}  // namespace infergate::net

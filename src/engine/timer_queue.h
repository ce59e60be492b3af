// TimerQueue: runs callbacks at given times on one thread of its own, so
// that whoever schedules one (a scheduler thread, in the escalation
// service) never waits. Time comes from the injected Clock.
//
// Thread-safety: Schedule from any thread, also from inside a callback.
// Callbacks run on the queue's thread, one at a time, and must not block.
// Destruction runs every callback still pending at once, then joins.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "core/clock.h"

namespace infergate::engine {

class TimerQueue {
 public:
  explicit TimerQueue(const core::Clock* clock);
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  void Schedule(core::TimePoint when, std::function<void()> fn);
  // Wakes the thread to re-read the clock (a ManualClock moved).
  void Wake();

 private:
  void Run();

  const core::Clock* clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<core::TimePoint, std::function<void()>> due_;  // GUARDED_BY(mu_)
  bool stop_ = false;                                           // GUARDED_BY(mu_)
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace infergate::engine

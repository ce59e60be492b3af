#include "engine/timer_queue.h"

#include <utility>

namespace infergate::engine {

TimerQueue::TimerQueue(const core::Clock* clock) : clock_(clock), thread_([this] { Run(); }) {}

TimerQueue::~TimerQueue() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void TimerQueue::Schedule(core::TimePoint when, std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    due_.emplace(when, std::move(fn));
  }
  cv_.notify_all();
}

void TimerQueue::Wake() {
  { std::lock_guard lock(mu_); }
  cv_.notify_all();
}

void TimerQueue::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (due_.empty()) {
      if (stop_) return;
      clock_->WaitUntil(cv_, lock, core::TimePoint::max());
      continue;
    }
    auto first = due_.begin();
    if (!stop_ && clock_->Now() < first->first) {
      clock_->WaitUntil(cv_, lock, first->first);
      continue;
    }
    std::function<void()> fn = std::move(first->second);
    due_.erase(first);
    lock.unlock();
    fn();
    lock.lock();
  }
}

}  // namespace infergate::engine

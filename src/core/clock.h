// Injected time. Everything that waits (batcher delays, deadlines, window
// TTLs, back-off) reads time through a Clock so tests can drive it without
// sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace infergate::core {

using Duration = std::chrono::steady_clock::duration;
using TimePoint = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Thread-safe.
  virtual TimePoint Now() const = 0;

  // Blocks on `cv` (with `lock` held, as condition_variable::wait) until it
  // is notified, or until Now() reaches `deadline` when this clock moves by
  // itself. TimePoint::max() means no deadline. A clock that moves only when
  // a test tells it to never times the wait: the test notifies instead.
  // May wake spuriously; callers re-check their condition.
  virtual void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         TimePoint deadline) const = 0;
};

// The process's monotonic clock.
class SteadyClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) const override {
    if (deadline == TimePoint::max()) {
      cv.wait(lock);
    } else {
      cv.wait_until(lock, deadline);
    }
  }
  // One shared instance; stateless, so sharing it is not a global state.
  static const SteadyClock& Instance() {
    static const SteadyClock clock;
    return clock;
  }
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{}) : now_(start.time_since_epoch().count()) {}
  TimePoint Now() const override { return TimePoint(Duration(now_.load())); }
  // Never times the wait: time moves only in Advance(), after which the test
  // wakes whoever waits (e.g. Scheduler::Wake()).
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint) const override {
    cv.wait(lock);
  }
  void Advance(Duration d) { now_ += d.count(); }

 private:
  std::atomic<Duration::rep> now_;
};

// Wall-clock time, for figures reported as a date (a statistics'
// last_inference). Never used to time a wait: that is Clock's job.
class WallClock {
 public:
  virtual ~WallClock() = default;
  // Milliseconds since the Unix epoch. Thread-safe.
  virtual uint64_t NowMillisSinceEpoch() const = 0;
};

// The system's real-time clock.
class SystemWallClock final : public WallClock {
 public:
  uint64_t NowMillisSinceEpoch() const override {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  }
  // One shared instance; stateless.
  static const SystemWallClock& Instance() {
    static const SystemWallClock clock;
    return clock;
  }
};

// A wall clock a test sets. Thread-safe.
class ManualWallClock final : public WallClock {
 public:
  explicit ManualWallClock(uint64_t millis = 0) : millis_(millis) {}
  uint64_t NowMillisSinceEpoch() const override { return millis_.load(); }
  void Set(uint64_t millis) { millis_ = millis; }

 private:
  std::atomic<uint64_t> millis_;
};

}  // namespace infergate::core

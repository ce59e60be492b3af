// Injected time. Everything that waits (batcher delays, deadlines, window
// TTLs, back-off) reads time through a Clock so tests can drive it without
// sleeping; what stamps a time of day (a device reading without a timestamp)
// reads a WallClock.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace infergate::core {

using Duration = std::chrono::steady_clock::duration;
using TimePoint = std::chrono::steady_clock::time_point;

// A config file's seconds (`*_secs` keys) as whole milliseconds.
inline std::chrono::milliseconds SecsToMillis(double secs) {
  return std::chrono::milliseconds(static_cast<int64_t>(secs * 1000));
}

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

// Wall-clock time (Unix time) for timestamps a device or a person reads,
// never for waiting: it jumps when the system clock is set.
using WallTime = std::chrono::system_clock::time_point;

class WallClock {
 public:
  virtual ~WallClock() = default;
  // Thread-safe.
  virtual WallTime Now() const = 0;
};

// The system's real-time clock.
class SystemWallClock final : public WallClock {
 public:
  WallTime Now() const override { return std::chrono::system_clock::now(); }
  // One shared instance; stateless, so sharing it is not a global state.
  static const SystemWallClock& Instance() {
    static const SystemWallClock clock;
    return clock;
  }
};

// A wall clock that moves only when told to. Thread-safe.
class ManualWallClock final : public WallClock {
 public:
  explicit ManualWallClock(WallTime start = WallTime{}) : now_(start.time_since_epoch().count()) {}
  WallTime Now() const override { return WallTime(WallTime::duration(now_.load())); }
  void Advance(WallTime::duration d) { now_ += d.count(); }
  void Set(WallTime t) { now_ = t.time_since_epoch().count(); }

 private:
  std::atomic<WallTime::rep> now_;
};

}  // namespace infergate::core

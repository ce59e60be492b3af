// The timetable of an open-loop run: request i is due at start + i / rate,
// whatever happened to earlier requests. Latency is measured from the due
// time, so a server (or client) that falls behind shows up as latency instead
// of quietly lowering the offered rate (no coordinated omission).
//
// Thread-safety: a value; const methods may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace infergate::bench {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Nanos = std::chrono::nanoseconds;

class RateSchedule {
 public:
  // `rate` requests per second, > 0.
  RateSchedule(TimePoint start, double rate) : start_(start), rate_(rate) {}

  // When request `i` (0-based) is due. Computed from i, never by adding up
  // intervals, so it does not drift over long runs.
  TimePoint DueTime(uint64_t i) const {
    const long double offset_ns = static_cast<long double>(i) * 1e9L / static_cast<long double>(rate_);
    return start_ + Nanos(static_cast<int64_t>(offset_ns));
  }
  // How many requests are due at `now` (requests 0 .. n-1 have DueTime <= now).
  uint64_t DueCount(TimePoint now) const {
    if (now < start_) return 0;
    const long double elapsed_ns = static_cast<long double>((now - start_).count());
    auto n = static_cast<uint64_t>(elapsed_ns * static_cast<long double>(rate_) / 1e9L) + 1;
    // Rounding of the two divisions may disagree by one at an exact boundary.
    while (n > 0 && DueTime(n - 1) > now) --n;
    while (DueTime(n) <= now) ++n;
    return n;
  }
  double rate() const { return rate_; }
  TimePoint start() const { return start_; }

 private:
  TimePoint start_;
  double rate_;
};

}  // namespace infergate::bench

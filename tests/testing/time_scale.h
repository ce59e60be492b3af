// Deadlines of tests that wait for a condition, scaled for slow builds: the
// sanitizer run (scripts/test.sh) sets INFERGATE_TEST_TIME_SCALE (e.g. 4), so
// a wait that normally gives up after 10 s gives up after 40 s there. Only
// deadlines are scaled; tests never sleep for synchronisation.
// Thread-safety: any thread (reads the environment only).
#pragma once

#include <chrono>
#include <cstdlib>

namespace infergate::testing {

// INFERGATE_TEST_TIME_SCALE as a factor >= 1 (1 when unset or invalid).
inline double TimeScale() {
  const char* v = std::getenv("INFERGATE_TEST_TIME_SCALE");
  if (v == nullptr) return 1.0;
  char* end = nullptr;
  const double scale = std::strtod(v, &end);
  return end != v && scale >= 1.0 && scale <= 100.0 ? scale : 1.0;
}

// `timeout` times TimeScale().
template <typename Rep, typename Period>
std::chrono::milliseconds Scaled(std::chrono::duration<Rep, Period> timeout) {
  const auto ms = std::chrono::duration_cast<std::chrono::duration<double, std::milli>>(timeout);
  return std::chrono::milliseconds(static_cast<long long>(ms.count() * TimeScale()));
}

}  // namespace infergate::testing

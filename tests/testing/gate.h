// Waiting helpers for tests that synchronise threads on conditions, never on
// sleeps: a Gate that holds threads inside a fake until the test opens it,
// and WaitFor, a condition-variable wait with a generous time-out so a broken
// test fails instead of hanging.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace infergate::testing {

// Long enough never to fire on a loaded CI box, short enough to fail a hung test.
inline constexpr std::chrono::seconds kTestTimeout{20};

// Waits on `cv` until `done()` holds; false after kTestTimeout.
template <typename Pred>
bool WaitFor(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, Pred done) {
  return cv.wait_for(lock, kTestTimeout, done);
}

// Open by default. Thread-safe.
class Gate {
 public:
  void Close() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // Blocks while the gate is closed.
  void Pass() {
    std::unique_lock lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    --waiting_;
  }
  // Waits until at least `n` threads are held at the gate; false on time-out.
  bool WaitForWaiting(int n) {
    std::unique_lock lock(mu_);
    return WaitFor(cv_, lock, [&] { return waiting_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int waiting_ = 0;
};

}  // namespace infergate::testing

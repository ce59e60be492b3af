// Ticker: calls a function every `interval` on a thread of its own until it
// is destroyed; for background checks such as "has this file changed".
// Destruction wakes the thread and joins it (a call in progress finishes
// first), so it never waits out an interval.
//
// Thread-safety: construct and destroy on one thread; the function runs on
// the ticker's thread, never twice at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace infergate::core {

class Ticker {
 public:
  // Starts the thread; the first call comes one `interval` (> 0) after.
  Ticker(std::chrono::milliseconds interval, std::function<void()> fn);
  ~Ticker();
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

 private:
  void Run();

  const std::chrono::milliseconds interval_;
  const std::function<void()> fn_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace infergate::core

// InFlight: how many requests a frontend has accepted and not yet answered,
// and a wait for none to be left (the drain).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace infergate::net {

class InFlight {
 public:
  void Enter();
  void Leave();
  int count() const;
  // True when none is in flight by `deadline` (steady clock).
  bool WaitIdle(std::chrono::steady_clock::time_point deadline);
  // Until none is in flight.
  void WaitIdle();

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace infergate::net

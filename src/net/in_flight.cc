#include "net/in_flight.h"

namespace infergate::net {

void InFlight::Enter() {
  std::lock_guard lock(mu_);
  ++count_;
}

void InFlight::Leave() {
  std::lock_guard lock(mu_);
  if (--count_ == 0) cv_.notify_all();
}

int InFlight::count() const {
  std::lock_guard lock(mu_);
  return count_;
}

bool InFlight::WaitIdle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return cv_.wait_until(lock, deadline, [this] { return count_ == 0; });
}

void InFlight::WaitIdle() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return count_ == 0; });
}

}  // namespace infergate::net

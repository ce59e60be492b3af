#include "core/ticker.h"

#include <utility>

namespace infergate::core {

Ticker::Ticker(std::chrono::milliseconds interval, std::function<void()> fn)
    : interval_(interval), fn_(std::move(fn)), thread_([this] { Run(); }) {}

Ticker::~Ticker() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Ticker::Run() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
    lock.unlock();
    fn_();
    lock.lock();
  }
}

}  // namespace infergate::core

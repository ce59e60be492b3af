// TestSink: an OutboxSink that records what it is given and answers as the
// test says (the broker side of an outbox, without a broker), and
// Eventually, for outbox state that changes on its threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "edge/outbox.h"
#include "testing/gate.h"

namespace infergate::edge {

class TestSink : public OutboxSink {
 public:
  using Done = std::function<void(const core::Status&)>;

  core::Status Send(const OutboxMessage& message, Done done) override {
    std::unique_lock lock(mu_);
    ++offers_;
    cv_.notify_all();
    if (!refusals_.empty()) {
      core::Status refusal = refusals_.front();
      refusals_.pop_front();
      return refusal;
    }
    if (!accepting_) return core::Unavailable("not connected");
    topics_.push_back(message.topic);
    if (on_take_) on_take_(message);
    if (auto_ack_) {
      lock.unlock();
      done(core::Status::Ok());  // before Send returns, as a fast broker may
      return core::Status::Ok();
    }
    done_.push_back(std::move(done));
    return core::Status::Ok();
  }

  // Send returns `status` once (before anything else).
  void RefuseNext(core::Status status) {
    std::lock_guard lock(mu_);
    refusals_.push_back(std::move(status));
  }
  // false: Send returns UNAVAILABLE (not connected).
  void SetAccepting(bool accepting) {
    std::lock_guard lock(mu_);
    accepting_ = accepting;
  }
  void SetAutoAck(bool auto_ack) {
    std::lock_guard lock(mu_);
    auto_ack_ = auto_ack;
  }
  // Runs `on_take` (under the sink's lock) for each message taken.
  void OnTake(std::function<void(const OutboxMessage&)> on_take) {
    std::lock_guard lock(mu_);
    on_take_ = std::move(on_take);
  }
  // Waits until `n` messages were taken (in all).
  bool WaitTaken(size_t n) {
    std::unique_lock lock(mu_);
    return testing::WaitFor(cv_, lock, [&] { return topics_.size() >= n; });
  }
  bool WaitOffers(int n) {
    std::unique_lock lock(mu_);
    return testing::WaitFor(cv_, lock, [&] { return offers_ >= n; });
  }
  // Runs the done callback of the i-th message taken (0-based).
  void Finish(size_t i, const core::Status& status = core::Status::Ok()) {
    Done done;
    {
      std::lock_guard lock(mu_);
      done = std::move(done_.at(i));
    }
    done(status);
  }
  std::vector<std::string> topics() {
    std::lock_guard lock(mu_);
    return topics_;
  }
  int offers() {
    std::lock_guard lock(mu_);
    return offers_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<core::Status> refusals_;
  bool accepting_ = true;
  bool auto_ack_ = false;
  int offers_ = 0;
  std::vector<std::string> topics_;
  std::vector<Done> done_;  // by take order; moved out when finished
  std::function<void(const OutboxMessage&)> on_take_;
};

// Polls `done` until it holds; false after testing::kTestTimeout. For state
// that changes on the outbox's threads with nothing to wait on.
inline bool Eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + testing::kTestTimeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace infergate::edge

// An InferenceService that holds every request until the test releases it,
// so a test can keep a known number of requests in flight (e.g. across a
// drain) without a slow model. Released requests are answered OK with no
// outputs. Thread-safe.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "core/dispatcher.h"
#include "core/infer.h"
#include "testing/gate.h"

namespace infergate::testing {

class HeldInference : public core::InferenceService {
 public:
  void Submit(std::unique_ptr<core::InferRequest> request) override {
    std::lock_guard lock(mu_);
    held_.push_back(std::move(request));
    cv_.notify_all();
  }
  // Until `n` requests are held; false after kTestTimeout.
  bool WaitHeld(size_t n) {
    std::unique_lock lock(mu_);
    return WaitFor(cv_, lock, [&] { return held_.size() >= n; });
  }
  size_t held() {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  // Answers every held request (on the calling thread).
  void ReleaseAll() {
    std::vector<std::unique_ptr<core::InferRequest>> requests;
    {
      std::lock_guard lock(mu_);
      requests.swap(held_);
    }
    for (auto& request : requests) {
      auto response = std::make_unique<core::InferResponse>();
      response->model_name = request->model_name;
      response->id = request->id;
      request->on_complete(std::move(response));
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<core::InferRequest>> held_;  // GUARDED_BY(mu_)
};

}  // namespace infergate::testing

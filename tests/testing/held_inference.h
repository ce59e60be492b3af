// An InferenceService that holds every request until the test releases it,
// so a test can keep a known number of requests in flight (e.g. across a
// drain) without a slow model. Released requests are answered OK with no
// outputs. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
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
  // The ids of the held requests, in the order they came.
  std::vector<std::string> Ids() {
    std::lock_guard lock(mu_);
    std::vector<std::string> ids;
    for (const auto& request : held_) ids.push_back(request->id);
    return ids;
  }
  // Answers held request `i` (on the calling thread); the others keep their order.
  void Release(size_t i) {
    std::unique_ptr<core::InferRequest> request;
    {
      std::lock_guard lock(mu_);
      request = std::move(held_.at(i));
      held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(i));
    }
    Answer(std::move(request));
  }
  // Answers every held request (on the calling thread).
  void ReleaseAll() {
    std::vector<std::unique_ptr<core::InferRequest>> requests;
    {
      std::lock_guard lock(mu_);
      requests.swap(held_);
    }
    for (auto& request : requests) Answer(std::move(request));
  }

 private:
  static void Answer(std::unique_ptr<core::InferRequest> request) {
    auto response = std::make_unique<core::InferResponse>();
    response->model_name = request->model_name;
    response->id = request->id;
    request->on_complete(std::move(response));
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<core::InferRequest>> held_;  // GUARDED_BY(mu_)
};

}  // namespace infergate::testing

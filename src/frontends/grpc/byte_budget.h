// ByteBudget: request bytes held by every gRPC connection together, against
// one limit (grpc.max_buffered_bytes). Connections add what they hold and
// take it back; while the total is at the limit they give clients no more
// flow-control credit and refuse new calls, and ask to be woken once some
// is freed.
//
// Thread-safety: every method may be called from any thread (the
// connections' IO threads).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "core/metrics.h"

namespace infergate::grpc_frontend {

class ByteBudget {
 public:
  // `limit` <= 0: no limit. `gauge` (may be null) follows the total.
  explicit ByteBudget(int64_t limit, core::Gauge* gauge = nullptr) : limit_(limit), gauge_(gauge) {}
  ByteBudget(const ByteBudget&) = delete;
  ByteBudget& operator=(const ByteBudget&) = delete;

  // `bytes` more held (negative: fewer). When the total drops below the
  // limit, the waiters are called (on this thread, once each).
  void Add(int64_t bytes);
  // True while the total is at or over the limit.
  bool Exhausted() const { return limit_ > 0 && used_.load(std::memory_order_relaxed) >= limit_; }
  int64_t used() const { return used_.load(std::memory_order_relaxed); }
  // `wake` is called once, from Add, the next time the total drops below
  // the limit; it must not call back into the budget and should only post.
  void WaitForRoom(std::function<void()> wake);

 private:
  const int64_t limit_;
  core::Gauge* const gauge_;
  std::atomic<int64_t> used_{0};
  std::mutex mu_;
  std::vector<std::function<void()>> waiters_;  // GUARDED_BY(mu_)
};

}  // namespace infergate::grpc_frontend

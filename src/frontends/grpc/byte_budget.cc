#include "frontends/grpc/byte_budget.h"

namespace infergate::grpc_frontend {

void ByteBudget::Add(int64_t bytes) {
  const int64_t now = used_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  if (gauge_) gauge_->Add(static_cast<double>(bytes));
  if (bytes >= 0 || (limit_ > 0 && now >= limit_)) return;
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lock(mu_);
    waiters.swap(waiters_);
  }
  for (auto& wake : waiters) wake();
}

void ByteBudget::WaitForRoom(std::function<void()> wake) {
  {
    std::lock_guard lock(mu_);
    if (Exhausted()) {
      waiters_.push_back(std::move(wake));
      return;
    }
  }
  wake();  // freed meanwhile
}

}  // namespace infergate::grpc_frontend

// What the closed-loop benchmarks of the durable stores (journal_bench,
// outbox_bench) share: the process's CPU time, percentiles of latencies and
// "1,16,64" lists of their flags.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

namespace infergate::bench {

// User + system CPU seconds of this process so far.
inline double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

// The q-quantile of `v` (reorders it); 0 when empty.
inline double Percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const auto k = static_cast<size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// One producer's wait for the outcome of its one item in flight: Signal
// from the callback's thread, Wait on the producer's.
class Waiter {
 public:
  void Signal(bool ok = true) {
    std::lock_guard lock(mu_);
    done_ = true;
    ok_ = ok;
    cv_.notify_one();
  }
  // Blocks until Signal, then resets; returns its `ok`.
  bool Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_; });
    done_ = false;
    return ok_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool ok_ = true;
};

// "1,16,64" -> {1, 16, 64}.
inline std::vector<int> ParseList(const char* s) {
  std::vector<int> v;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) v.push_back(std::atoi(item.c_str()));
  return v;
}

}  // namespace infergate::bench

// A latency histogram in the style of HdrHistogram: log-linear buckets with a
// bounded relative error (below 1/128, under 0.8 %), constant memory, O(1)
// Record. Values are nanoseconds; the exact minimum, maximum and sum are kept
// beside the buckets, so Max() and Mean() are exact.
//
// Thread-safety: none; one owner records, or the owner serialises access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace infergate::bench {

class LatencyHistogram {
 public:
  LatencyHistogram();

  void Record(uint64_t value_ns);
  // Adds every value recorded in `other`.
  void Merge(const LatencyHistogram& other);
  void Reset();

  uint64_t Count() const { return count_; }
  uint64_t Min() const { return count_ ? min_ : 0; }
  uint64_t Max() const { return max_; }
  double Mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
  // The value at quantile q in [0, 1]: the smallest recorded value v such that
  // at least q of all values are <= v, up to the bucket's resolution (the
  // answer is the top of v's bucket, clamped to Max()). 0 when empty.
  uint64_t Percentile(double q) const;

  // Bucket arithmetic, public for tests.
  static size_t BucketOf(uint64_t value);
  static uint64_t BucketLow(size_t bucket);
  static uint64_t BucketHigh(size_t bucket);  // inclusive

 private:
  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
  uint64_t min_ = 0;
  uint64_t max_ = 0;
  uint64_t sum_ = 0;
};

}  // namespace infergate::bench

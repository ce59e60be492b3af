#include "histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace infergate::bench {
namespace {

// Values below 2 * kHalf get a bucket each. Above, each power of two is split
// into kHalf buckets, so a bucket spans at most 1/kHalf of its low value.
constexpr int kSubBits = 7;
constexpr uint64_t kHalf = uint64_t{1} << kSubBits;  // 128
constexpr uint64_t kLinear = 2 * kHalf;              // 256
constexpr int kMaxShift = 64 - kSubBits - 1;         // covers every uint64_t
constexpr size_t kBuckets = kLinear + kMaxShift * kHalf;

}  // namespace

LatencyHistogram::LatencyHistogram() : buckets_(kBuckets, 0) {}

size_t LatencyHistogram::BucketOf(uint64_t value) {
  if (value < kLinear) return static_cast<size_t>(value);
  const int shift = std::bit_width(value) - 1 - kSubBits;  // >= 1
  const uint64_t top = value >> shift;                      // in [kHalf, 2 kHalf)
  return static_cast<size_t>(kLinear + (shift - 1) * kHalf + (top - kHalf));
}

uint64_t LatencyHistogram::BucketLow(size_t bucket) {
  if (bucket < kLinear) return bucket;
  const size_t above = bucket - kLinear;
  const int shift = static_cast<int>(above / kHalf) + 1;
  const uint64_t top = kHalf + above % kHalf;
  return top << shift;
}

uint64_t LatencyHistogram::BucketHigh(size_t bucket) {
  if (bucket < kLinear) return bucket;
  const int shift = static_cast<int>((bucket - kLinear) / kHalf) + 1;
  return BucketLow(bucket) + ((uint64_t{1} << shift) - 1);
}

void LatencyHistogram::Record(uint64_t value_ns) {
  ++buckets_[BucketOf(value_ns)];
  if (count_ == 0 || value_ns < min_) min_ = value_ns;
  max_ = std::max(max_, value_ns);
  sum_ += value_ns;
  ++count_;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (size_t i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  min_ = count_ ? std::min(min_, other.min_) : other.min_;
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
  count_ += other.count_;
}

void LatencyHistogram::Reset() {
  std::fill(buckets_.begin(), buckets_.end(), 0);
  count_ = min_ = max_ = sum_ = 0;
}

uint64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // The rank (1-based) of the value asked for.
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::clamp(BucketHigh(i), min_, max_);
  }
  return max_;
}

}  // namespace infergate::bench

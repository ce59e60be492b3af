#include "histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace infergate::bench {
namespace {

TEST(LatencyHistogramTest, BucketsCoverEveryValueWithBoundedRelativeError) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = rng() >> (rng() % 64);
    const size_t b = LatencyHistogram::BucketOf(v);
    ASSERT_LE(LatencyHistogram::BucketLow(b), v) << v;
    ASSERT_GE(LatencyHistogram::BucketHigh(b), v) << v;
    const double width = static_cast<double>(LatencyHistogram::BucketHigh(b) - LatencyHistogram::BucketLow(b));
    ASSERT_LE(width, static_cast<double>(v) / 128.0) << v;
  }
  // Neighbouring buckets touch: no gaps, no overlaps.
  for (size_t b = 0; b + 1 < 5000; ++b) {
    ASSERT_EQ(LatencyHistogram::BucketHigh(b) + 1, LatencyHistogram::BucketLow(b + 1)) << b;
  }
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.Count(), 100u);
  EXPECT_EQ(h.Percentile(0.5), 50u);
  EXPECT_EQ(h.Percentile(0.9), 90u);
  EXPECT_EQ(h.Percentile(0.99), 99u);
  EXPECT_EQ(h.Percentile(1.0), 100u);
  EXPECT_EQ(h.Min(), 1u);
  EXPECT_EQ(h.Max(), 100u);
  EXPECT_DOUBLE_EQ(h.Mean(), 50.5);
}

TEST(LatencyHistogramTest, PercentilesMatchSortedSamplesWithinResolution) {
  std::mt19937 rng(7);
  std::lognormal_distribution<double> latency(13.0, 0.8);  // around 0.5 ms, long tail
  std::vector<uint64_t> samples;
  LatencyHistogram h;
  for (int i = 0; i < 200000; ++i) {
    const auto v = static_cast<uint64_t>(latency(rng));
    samples.push_back(v);
    h.Record(v);
  }
  std::sort(samples.begin(), samples.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const uint64_t exact = samples[static_cast<size_t>(q * samples.size()) - 1];
    const double got = static_cast<double>(h.Percentile(q));
    EXPECT_NEAR(got, static_cast<double>(exact), static_cast<double>(exact) / 100.0) << "q=" << q;
  }
  EXPECT_EQ(h.Max(), samples.back());
  EXPECT_EQ(h.Min(), samples.front());
}

TEST(LatencyHistogramTest, ATailOfOnePercentShowsInP99NotP90) {
  LatencyHistogram h;
  for (int i = 0; i < 980; ++i) h.Record(1'000'000);    // 1 ms
  for (int i = 0; i < 20; ++i) h.Record(250'000'000);   // 250 ms
  EXPECT_NEAR(static_cast<double>(h.Percentile(0.90)), 1e6, 1e4);
  EXPECT_NEAR(static_cast<double>(h.Percentile(0.99)), 250e6, 250e6 / 100);
  EXPECT_EQ(h.Max(), 250'000'000u);
}

TEST(LatencyHistogramTest, MergeAddsAndEmptyIsZero) {
  LatencyHistogram a, b, empty;
  EXPECT_EQ(empty.Percentile(0.99), 0u);
  EXPECT_EQ(empty.Min(), 0u);
  EXPECT_EQ(empty.Mean(), 0.0);
  for (int i = 0; i < 10; ++i) a.Record(1000);
  for (int i = 0; i < 10; ++i) b.Record(5000);
  a.Merge(b);
  a.Merge(empty);
  EXPECT_EQ(a.Count(), 20u);
  EXPECT_EQ(a.Min(), 1000u);
  EXPECT_EQ(a.Max(), 5000u);
  EXPECT_NEAR(static_cast<double>(a.Percentile(0.5)), 1000.0, 1000.0 / 128);
  EXPECT_NEAR(static_cast<double>(a.Percentile(0.51)), 5000.0, 50.0);
  a.Reset();
  EXPECT_EQ(a.Count(), 0u);
  EXPECT_EQ(a.Max(), 0u);
}

}  // namespace
}  // namespace infergate::bench

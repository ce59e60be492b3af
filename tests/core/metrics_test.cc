#include "core/metrics.h"

#include <gtest/gtest.h>

namespace infergate::core {
namespace {

TEST(MetricsRegistryTest, FindReadsWithoutCreating) {
  MetricsRegistry registry;
  EXPECT_EQ(registry.FindCounter("c", {{"a", "1"}}), nullptr);
  EXPECT_EQ(registry.RenderPrometheus(), "");
  registry.GetCounter("c", "help", {{"a", "1"}}).Increment(3);
  registry.GetHistogram("h", "help", {}, {1.0}).Observe(0.5);
  ASSERT_NE(registry.FindCounter("c", {{"a", "1"}}), nullptr);
  EXPECT_EQ(registry.FindCounter("c", {{"a", "1"}})->value(), 3u);
  EXPECT_EQ(registry.FindCounter("c", {{"a", "2"}}), nullptr);
  EXPECT_EQ(registry.FindCounter("h", {}), nullptr);  // a histogram, not a counter
  ASSERT_NE(registry.FindHistogram("h", {}), nullptr);
  EXPECT_EQ(registry.FindHistogram("h", {})->count(), 1u);
}

}  // namespace
}  // namespace infergate::core

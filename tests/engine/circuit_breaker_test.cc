#include "engine/circuit_breaker.h"

#include <gtest/gtest.h>

namespace infergate::engine {
namespace {

using State = CircuitBreaker::State;
using std::chrono::seconds;

TEST(CircuitBreakerTest, OpensAfterConsecutiveFailuresOnly) {
  core::ManualClock clock;
  CircuitBreaker b(3, seconds(10), &clock);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(b.Allow());
    b.OnFailure();
  }
  ASSERT_TRUE(b.Allow());
  b.OnSuccess();  // resets the count
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(b.Allow());
    b.OnFailure();
  }
  EXPECT_EQ(b.state(), State::kClosed);
  ASSERT_TRUE(b.Allow());
  b.OnFailure();
  EXPECT_EQ(b.state(), State::kOpen);
  EXPECT_FALSE(b.Allow());
}

TEST(CircuitBreakerTest, HalfOpenLetsOneProbeThrough) {
  core::ManualClock clock;
  CircuitBreaker b(1, seconds(10), &clock);
  ASSERT_TRUE(b.Allow());
  b.OnFailure();
  clock.Advance(seconds(9));
  EXPECT_FALSE(b.Allow());
  clock.Advance(seconds(1));
  EXPECT_TRUE(b.Allow());  // the probe
  EXPECT_EQ(b.state(), State::kHalfOpen);
  EXPECT_FALSE(b.Allow());  // only one at a time
  b.OnFailure();            // the probe failed: open for another cool-down
  EXPECT_EQ(b.state(), State::kOpen);
  EXPECT_FALSE(b.Allow());
  clock.Advance(seconds(10));
  ASSERT_TRUE(b.Allow());
  b.OnSuccess();
  EXPECT_EQ(b.state(), State::kClosed);
  EXPECT_TRUE(b.Allow());
  EXPECT_TRUE(b.Allow());
}

TEST(CircuitBreakerTest, LateFailuresDoNotExtendTheCoolDown) {
  core::ManualClock clock;
  CircuitBreaker b(1, seconds(10), &clock);
  ASSERT_TRUE(b.Allow());
  ASSERT_TRUE(b.Allow());  // two in flight
  b.OnFailure();
  clock.Advance(seconds(5));
  b.OnFailure();  // sent before it opened
  clock.Advance(seconds(5));
  EXPECT_TRUE(b.Allow());
}

}  // namespace
}  // namespace infergate::engine

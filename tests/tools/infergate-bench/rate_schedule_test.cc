#include "rate_schedule.h"

#include <gtest/gtest.h>

namespace infergate::bench {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(RateScheduleTest, DueTimesFollowTheRate) {
  const TimePoint t0{seconds(100)};
  RateSchedule s(t0, 1000);
  EXPECT_EQ(s.DueTime(0), t0);
  EXPECT_EQ(s.DueTime(1), t0 + milliseconds(1));
  EXPECT_EQ(s.DueTime(1000), t0 + seconds(1));
}

TEST(RateScheduleTest, DoesNotDriftOverLongRuns) {
  // 3 per second: 333,333,333.33 ns apart; a summed interval would lose a
  // third of a nanosecond per request.
  const TimePoint t0{seconds(5)};
  RateSchedule s(t0, 3);
  EXPECT_EQ(s.DueTime(3'000'000), t0 + seconds(1'000'000));
  EXPECT_EQ(s.DueTime(1), t0 + nanoseconds(333'333'333));
  EXPECT_EQ(s.DueTime(2), t0 + nanoseconds(666'666'666));
}

TEST(RateScheduleTest, DueCountAtBoundaries) {
  const TimePoint t0{seconds(1)};
  RateSchedule s(t0, 100);  // every 10 ms
  EXPECT_EQ(s.DueCount(t0 - nanoseconds(1)), 0u);
  EXPECT_EQ(s.DueCount(t0), 1u);  // request 0 is due at the start
  EXPECT_EQ(s.DueCount(t0 + milliseconds(10) - nanoseconds(1)), 1u);
  EXPECT_EQ(s.DueCount(t0 + milliseconds(10)), 2u);
  EXPECT_EQ(s.DueCount(t0 + seconds(1)), 101u);
  for (uint64_t i = 0; i < 5000; ++i) {
    ASSERT_EQ(s.DueCount(s.DueTime(i)), i + 1) << i;
    ASSERT_EQ(s.DueCount(s.DueTime(i) - nanoseconds(1)), i) << i;
  }
}

TEST(RateScheduleTest, TheOfferedLoadDoesNotDependOnReplies) {
  // However late the sender wakes, the count due is fixed by the clock: a
  // sender that stalled for 250 ms owes 25 requests at 100/s, all with their
  // original due times.
  const TimePoint t0{seconds(1)};
  RateSchedule s(t0, 100);
  const TimePoint woke = t0 + milliseconds(250);
  EXPECT_EQ(s.DueCount(woke), 26u);
  EXPECT_EQ(s.DueTime(25), woke);
  EXPECT_LT(s.DueTime(3), woke);
}

}  // namespace
}  // namespace infergate::bench

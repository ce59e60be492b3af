#include "engine/timer_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>

namespace infergate::engine {
namespace {

using std::chrono::seconds;

TEST(TimerQueueTest, RunsWhenTheClockReachesTheTime) {
  core::ManualClock clock;
  std::promise<void> fired;
  std::atomic<bool> ran{false};
  TimerQueue timers(&clock);
  timers.Schedule(clock.Now() + seconds(2), [&] {
    ran = true;
    fired.set_value();
  });
  clock.Advance(seconds(1));
  timers.Wake();
  auto done = fired.get_future();
  EXPECT_EQ(done.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  EXPECT_FALSE(ran.load());
  clock.Advance(seconds(1));
  timers.Wake();
  EXPECT_EQ(done.wait_for(seconds(10)), std::future_status::ready);
}

TEST(TimerQueueTest, DestructionRunsWhatIsPending) {
  core::ManualClock clock;
  int ran = 0;
  {
    TimerQueue timers(&clock);
    timers.Schedule(clock.Now() + seconds(100), [&] { ++ran; });
    timers.Schedule(clock.Now() + seconds(50), [&] { ++ran; });
  }
  EXPECT_EQ(ran, 2);
}

}  // namespace
}  // namespace infergate::engine

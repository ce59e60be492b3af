#include "core/ticker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace infergate::core {
namespace {

using std::chrono::milliseconds;

TEST(TickerTest, CallsTheFunctionAgainAndAgain) {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  Ticker ticker(milliseconds(1), [&] {
    std::lock_guard lock(mu);
    ++calls;
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return calls >= 3; }));
}

TEST(TickerTest, DestructionDoesNotWaitOutTheInterval) {
  std::atomic<int> calls{0};
  const auto start = std::chrono::steady_clock::now();
  { Ticker ticker(std::chrono::hours(1), [&] { ++calls; }); }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::minutes(1));
  EXPECT_EQ(calls.load(), 0);
}

}  // namespace
}  // namespace infergate::core

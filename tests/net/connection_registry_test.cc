#include "net/connection_registry.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/metrics.h"

namespace infergate::net {
namespace {

using namespace std::chrono_literals;

TEST(ConnectionRegistryTest, WaitAllClosedReturnsOnceTheLastSlotIsReleased) {
  core::MetricsRegistry metrics;
  ConnectionRegistry registry("test", 0, &metrics);
  EXPECT_TRUE(registry.WaitAllClosed(std::chrono::steady_clock::now()));  // none open

  auto a = registry.Admit();
  auto b = registry.Admit();
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(registry.WaitAllClosed(std::chrono::steady_clock::now() + 10ms));
  std::thread closer([&] {
    a.reset();
    b.reset();
  });
  EXPECT_TRUE(registry.WaitAllClosed(std::chrono::steady_clock::now() + 60s));
  EXPECT_EQ(registry.open(), 0u);
  closer.join();
}

}  // namespace
}  // namespace infergate::net

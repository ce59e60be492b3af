// The outbox tests' fixture: an outbox in a temporary folder, its metrics,
// manual clocks for the tests that drive time, and a TestSink.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "edge/outbox.h"
#include "edge/test_sink.h"
#include "testing/temp_dir.h"

namespace infergate::edge {

class OutboxTest : public ::testing::Test {
 protected:
  OutboxOptions Options() const {
    OutboxOptions options;
    options.path = (dir_.path() / "outbox.db").string();
    options.name = "test";
    options.durability = state::Durability::kProcessCrash;
    return options;
  }
  // On the steady clock (the rate and the close flush); the wall clock is manual.
  std::unique_ptr<Outbox> Open(OutboxOptions options) {
    return OpenOn(std::move(options), &core::SteadyClock::Instance());
  }
  std::unique_ptr<Outbox> OpenOn(OutboxOptions options, const core::Clock* clock) {
    auto outbox = Outbox::Open(std::move(options), &metrics_, clock, &wall_clock_);
    EXPECT_TRUE(outbox.ok()) << outbox.status().ToString();
    return outbox.ok() ? std::move(outbox).value() : nullptr;
  }
  static OutboxMessage Message(const std::string& topic, size_t payload_bytes = 10) {
    OutboxMessage m;
    m.topic = topic;
    m.payload.assign(payload_bytes, 'p');
    return m;
  }
  // Pushes messages "m0".."m<n-1>" and waits until all are durable.
  void PushDurably(Outbox& outbox, int n, size_t payload_bytes = 10, int first = 0) {
    std::mutex mu;
    std::condition_variable cv;
    int durable = 0;
    for (int i = first; i < first + n; ++i) {
      ASSERT_TRUE(outbox
                      .Push(Message("m" + std::to_string(i), payload_bytes),
                            [&](const core::Status& s) {
                              EXPECT_TRUE(s.ok()) << s.ToString();
                              std::lock_guard lock(mu);
                              ++durable;
                              cv.notify_all();
                            })
                      .ok());
    }
    std::unique_lock lock(mu);
    ASSERT_TRUE(testing::WaitFor(cv, lock, [&] { return durable == n; }));
  }
  static std::vector<std::string> Topics(int from, int to) {
    std::vector<std::string> topics;
    for (int i = from; i < to; ++i) topics.push_back("m" + std::to_string(i));
    return topics;
  }
  uint64_t Dropped(const std::string& reason) const {
    const core::Counter* c = metrics_.FindCounter("infergate_outbox_dropped_total",
                                                  {{"outbox", "test"}, {"reason", reason}});
    return c == nullptr ? 0 : c->value();
  }
  uint64_t Count(const std::string& name) const {
    const core::Counter* c = metrics_.FindCounter(name, {{"outbox", "test"}});
    return c == nullptr ? 0 : c->value();
  }

  testing::TempDir dir_;
  core::MetricsRegistry metrics_;
  core::ManualClock manual_clock_;
  core::ManualWallClock wall_clock_{core::WallTime(std::chrono::seconds(1'800'000'000))};
  TestSink sink_;
};

}  // namespace infergate::edge

#include "edge/outbox.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "edge/outbox_fixture.h"

namespace infergate::edge {
namespace {

using std::chrono::hours;
using std::chrono::seconds;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

TEST_F(OutboxTest, SendsInPushOrderAndForgetsWhatTheBrokerAcknowledged) {
  auto outbox = Open(Options());
  sink_.SetAutoAck(true);
  outbox->Start(&sink_);
  PushDurably(*outbox, 50);
  ASSERT_TRUE(sink_.WaitTaken(50));
  EXPECT_THAT(sink_.topics(), ElementsAreArray(Topics(0, 50)));
  ASSERT_TRUE(Eventually([&] { return outbox->messages() == 0; }));
  EXPECT_EQ(outbox->bytes(), 0);
  EXPECT_EQ(Count("infergate_outbox_sent_total"), 50u);
  outbox->Close(seconds(1));
  // Each one written, or acknowledged before its write and never written.
  EXPECT_EQ(
      Count("infergate_outbox_written_total") + Count("infergate_outbox_writes_skipped_total"),
      50u);
  auto reopened = Open(Options());
  EXPECT_EQ(reopened->messages(), 0);  // nothing left in the file
}

TEST_F(OutboxTest, WhatWasNotAcknowledgedIsSentAgainInOrderAfterReopen) {
  {
    auto outbox = Open(Options());
    outbox->Start(&sink_);
    PushDurably(*outbox, 6);
    ASSERT_TRUE(sink_.WaitTaken(6));
    sink_.Finish(0);
    sink_.Finish(2);  // acknowledged out of order
    ASSERT_TRUE(Eventually([&] { return outbox->messages() == 4; }));
    // As after kill -9: nothing flushed, the broker never answered the rest.
    outbox->Close(core::Duration::zero());
  }
  TestSink second;
  second.SetAutoAck(true);
  auto outbox = Open(Options());
  EXPECT_EQ(outbox->messages(), 4);
  outbox->Start(&second);
  ASSERT_TRUE(second.WaitTaken(4));
  EXPECT_THAT(second.topics(), ElementsAreArray({"m1", "m3", "m4", "m5"}));
  // New messages come after the recovered ones.
  PushDurably(*outbox, 2, 10, 6);
  ASSERT_TRUE(second.WaitTaken(6));
  EXPECT_THAT(second.topics(), ElementsAreArray({"m1", "m3", "m4", "m5", "m6", "m7"}));
  // A late done of the first run's sink only counts.
  sink_.Finish(1);
}

TEST_F(OutboxTest, PushPastMaxBytesDropsTheOldestAndCountsThemAsFull) {
  OutboxOptions options = Options();
  const auto record = static_cast<int64_t>(EncodeOutboxMessage(Message("m0", 100)).size());
  const auto longer = record + 1;  // "m10" and after
  options.max_bytes = 10 * longer;
  auto outbox = Open(options);
  sink_.SetAccepting(false);  // the broker is away: everything stays
  outbox->Start(&sink_);
  PushDurably(*outbox, 10, 100);
  EXPECT_EQ(outbox->bytes(), 10 * record);
  EXPECT_EQ(Dropped("full"), 0u);
  PushDurably(*outbox, 3, 100, 10);  // m10..m12 push out m0..m2
  EXPECT_EQ(outbox->messages(), 10);
  EXPECT_EQ(outbox->bytes(), 7 * record + 3 * longer);
  EXPECT_EQ(Dropped("full"), 3u);
  const core::Counter* full = metrics_.FindCounter("infergate_outbox_dropped_total",
                                                   {{"outbox", "test"}, {"reason", "full"}});
  ASSERT_NE(full, nullptr);
  EXPECT_THAT(metrics_.RenderPrometheus(),
              HasSubstr("infergate_outbox_dropped_total{outbox=\"test\",reason=\"full\"} 3"));
  // What is left is the newest, in order, also in the file.
  outbox->Close(core::Duration::zero());
  sink_.SetAccepting(true);
  sink_.SetAutoAck(true);
  auto reopened = Open(Options());
  EXPECT_EQ(reopened->messages(), 10);
  reopened->Start(&sink_);
  ASSERT_TRUE(sink_.WaitTaken(10));
  EXPECT_THAT(sink_.topics(), ElementsAreArray(Topics(3, 13)));
}

TEST_F(OutboxTest, MaxRecordsDropsTheOldestToo) {
  OutboxOptions options = Options();
  options.max_records = 3;
  auto outbox = Open(options);
  PushDurably(*outbox, 5);  // never started: nothing sent
  EXPECT_EQ(outbox->messages(), 3);
  EXPECT_EQ(Dropped("full"), 2u);
}

TEST_F(OutboxTest, MessagesOlderThanMaxAgeExpire) {
  OutboxOptions options = Options();
  options.max_age = hours(1);
  auto outbox = OpenOn(options, &manual_clock_);
  sink_.SetAccepting(false);
  outbox->Start(&sink_);
  PushDurably(*outbox, 2);
  wall_clock_.Advance(std::chrono::minutes(30));
  PushDurably(*outbox, 1, 10, 2);
  wall_clock_.Advance(std::chrono::minutes(31));  // m0 and m1 are 61 minutes old, m2 31
  outbox->Wake();
  ASSERT_TRUE(Eventually([&] { return outbox->messages() == 1; }));
  EXPECT_EQ(Dropped("expired"), 2u);
  sink_.SetAccepting(true);
  sink_.SetAutoAck(true);
  outbox->Wake();
  ASSERT_TRUE(sink_.WaitTaken(1));
  EXPECT_THAT(sink_.topics(), ElementsAreArray({"m2"}));
  const core::Gauge& age =
      metrics_.GetGauge("infergate_outbox_oldest_age_seconds", "", {{"outbox", "test"}});
  ASSERT_TRUE(Eventually([&] { return outbox->messages() == 0; }));
  EXPECT_EQ(age.value(), 0);
  outbox->Close(core::Duration::zero());
}

TEST_F(OutboxTest, TheOldestAgeGaugeFollowsTheWallClock) {
  auto outbox = OpenOn(Options(), &manual_clock_);
  PushDurably(*outbox, 1);
  wall_clock_.Advance(seconds(90));
  PushDurably(*outbox, 1, 10, 1);  // a push refreshes the gauges
  EXPECT_EQ(
      metrics_.GetGauge("infergate_outbox_oldest_age_seconds", "", {{"outbox", "test"}}).value(),
      90);
  EXPECT_EQ(metrics_.GetGauge("infergate_outbox_messages", "", {{"outbox", "test"}}).value(), 2);
}

TEST_F(OutboxTest, AMessageLargerThanMaxBytesIsRefusedAsTooLarge) {
  OutboxOptions options = Options();
  options.max_bytes = 100;
  auto outbox = Open(options);
  bool called = false;
  core::Status status =
      outbox->Push(Message("big", 200), [&](const core::Status&) { called = true; });
  EXPECT_EQ(status.code(), core::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("max_bytes 100"));
  EXPECT_EQ(Dropped("too_large"), 1u);
  EXPECT_EQ(outbox->messages(), 0);
  outbox->Close(core::Duration::zero());
  EXPECT_FALSE(called);
  EXPECT_EQ(outbox->Push(Message("m")).code(), core::StatusCode::kFailedPrecondition);
}

TEST_F(OutboxTest, TheSinksRefusalsDropAsTooLargeOrRejected) {
  auto outbox = Open(Options());
  sink_.RefuseNext(core::ResourceExhausted("larger than the broker's maximum packet size"));
  sink_.RefuseNext(core::InvalidArgument("bad topic"));
  sink_.SetAutoAck(true);
  outbox->Start(&sink_);
  PushDurably(*outbox, 3);
  ASSERT_TRUE(sink_.WaitTaken(1));
  EXPECT_THAT(sink_.topics(), ElementsAreArray({"m2"}));
  EXPECT_EQ(Dropped("too_large"), 1u);
  EXPECT_EQ(Dropped("rejected"), 1u);
  ASSERT_TRUE(Eventually([&] { return outbox->messages() == 0; }));
}

TEST_F(OutboxTest, ABrokerRefusalInDoneDropsAsRejected) {
  auto outbox = Open(Options());
  outbox->Start(&sink_);
  PushDurably(*outbox, 2);
  ASSERT_TRUE(sink_.WaitTaken(2));
  sink_.Finish(0, core::PermissionDenied("not authorized (0x87)"));
  sink_.Finish(1);
  ASSERT_TRUE(Eventually([&] { return outbox->messages() == 0; }));
  EXPECT_EQ(Dropped("rejected"), 1u);
  EXPECT_EQ(Count("infergate_outbox_sent_total"), 1u);
}

TEST_F(OutboxTest, AtMostMaxInflightAreHandedOverAtOnce) {
  OutboxOptions options = Options();
  options.max_inflight = 3;
  auto outbox = Open(options);
  outbox->Start(&sink_);
  PushDurably(*outbox, 5);
  ASSERT_TRUE(sink_.WaitTaken(3));
  // Pushes and wakes do not pass the window; a done does.
  PushDurably(*outbox, 1, 10, 5);
  outbox->Wake();
  EXPECT_EQ(sink_.offers(), 3);
  sink_.Finish(1);
  ASSERT_TRUE(sink_.WaitTaken(4));
  EXPECT_EQ(sink_.offers(), 4);
  EXPECT_THAT(sink_.topics(), ElementsAreArray(Topics(0, 4)));
  outbox->Close(core::Duration::zero());
}

TEST_F(OutboxTest, ALostConnectionRewindsToTheOldestNotAcknowledged) {
  auto outbox = Open(Options());
  outbox->Start(&sink_);
  PushDurably(*outbox, 4);
  ASSERT_TRUE(sink_.WaitTaken(4));
  sink_.Finish(0);
  sink_.SetAccepting(false);  // the connection goes: the client gives the rest back
  sink_.Finish(1, core::Unavailable("connection lost"));
  sink_.Finish(2, core::Cancelled("stopped"));
  ASSERT_TRUE(sink_.WaitOffers(5));  // offered m1 again: not connected
  sink_.Finish(3, core::Unavailable("connection lost"));
  EXPECT_EQ(outbox->messages(), 3);
  sink_.SetAccepting(true);
  sink_.SetAutoAck(true);
  outbox->Wake();  // connected
  ASSERT_TRUE(sink_.WaitTaken(7));
  EXPECT_THAT(sink_.topics(), ElementsAreArray({"m0", "m1", "m2", "m3", "m1", "m2", "m3"}));
  ASSERT_TRUE(Eventually([&] { return outbox->messages() == 0; }));
}

TEST_F(OutboxTest, TheRateBoundsSendsOnTheInjectedClock) {
  OutboxOptions options = Options();
  options.max_rate = 10;  // a burst of 1, then one per 100 ms
  auto outbox = OpenOn(options, &manual_clock_);
  sink_.SetAutoAck(true);
  outbox->Start(&sink_);
  PushDurably(*outbox, 3);
  ASSERT_TRUE(sink_.WaitTaken(1));
  outbox->Wake();
  EXPECT_EQ(sink_.topics().size(), 1u);
  manual_clock_.Advance(std::chrono::milliseconds(100));
  outbox->Wake();
  ASSERT_TRUE(sink_.WaitTaken(2));
  manual_clock_.Advance(std::chrono::milliseconds(50));
  outbox->Wake();
  EXPECT_EQ(sink_.topics().size(), 2u);
  manual_clock_.Advance(std::chrono::milliseconds(50));
  outbox->Wake();
  ASSERT_TRUE(sink_.WaitTaken(3));
  outbox->Close(core::Duration::zero());
}

// max_rate bounds a backlog's drain, not live traffic: a message pushed
// while the sender keeps up goes at once whatever the rate.
TEST_F(OutboxTest, LiveTrafficIsNotHeldToTheRate) {
  OutboxOptions options = Options();
  options.max_rate = 10;  // one per 100 ms of the clock, which never moves here
  auto outbox = OpenOn(options, &manual_clock_);
  sink_.SetAutoAck(true);
  outbox->Start(&sink_);
  for (size_t i = 1; i <= 20; ++i) {
    ASSERT_TRUE(outbox->Push(Message("live" + std::to_string(i))).ok());
    ASSERT_TRUE(sink_.WaitTaken(i)) << "message " << i << " waited for the rate";
  }
  outbox->Close(core::Duration::zero());
}

TEST_F(OutboxTest, AnUnreadableFileIsAnErrorNamingIt) {
  OutboxOptions options = Options();
  options.path = (dir_.path() / "missing" / "outbox.db").string();
  auto outbox = Outbox::Open(options, &metrics_, &manual_clock_, &wall_clock_);
  ASSERT_FALSE(outbox.ok());
  EXPECT_THAT(outbox.status().message(), HasSubstr(options.path));
}

}  // namespace
}  // namespace infergate::edge

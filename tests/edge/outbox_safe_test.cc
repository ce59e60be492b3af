// A message is sent from memory while its write goes on: on_safe reports OK
// at its commit or at the broker's acknowledgement, whichever comes first, and
// an acknowledgement before the commit cancels the write.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>

#include "edge/outbox.h"
#include "edge/outbox_fixture.h"
#include "testing/process.h"

namespace infergate::edge {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Not;

// A commit window no test waits out: nothing is committed before Close. On
// the manual clock nothing else times out either, so the sender sends only
// when something wakes it.
OutboxOptions NeverCommitting(OutboxOptions options) {
  options.max_commit_delay = std::chrono::hours(1);
  return options;
}

TEST_F(OutboxTest, AMessageIsHandedToTheSinkBeforeItsCommit) {
  auto outbox = OpenOn(NeverCommitting(Options()), &manual_clock_);
  std::atomic<bool> safe{false};
  std::atomic<bool> safe_when_taken{true};
  sink_.OnTake([&](const OutboxMessage&) { safe_when_taken = safe.load(); });
  outbox->Start(&sink_);
  ASSERT_TRUE(outbox->Push(Message("m0"), [&](const core::Status& s) { safe = s.ok(); }).ok());
  ASSERT_TRUE(sink_.WaitTaken(1));
  EXPECT_FALSE(safe_when_taken);
  EXPECT_FALSE(safe);                     // neither committed nor acknowledged
  outbox->Close(core::Duration::zero());  // commits what is pending
  EXPECT_TRUE(safe);
  EXPECT_EQ(Count("infergate_outbox_written_total"), 1u);
  EXPECT_EQ(Open(Options())->messages(), 1);  // not acknowledged: sent again by the next run
}

TEST_F(OutboxTest, AnAcknowledgementBeforeTheCommitIsSafeAndNeverWritten) {
  auto outbox = OpenOn(NeverCommitting(Options()), &manual_clock_);
  std::atomic<int> reports{0};
  outbox->Start(&sink_);
  ASSERT_TRUE(outbox
                  ->Push(Message("m0"),
                         [&](const core::Status& s) {
                           EXPECT_TRUE(s.ok()) << s.ToString();
                           ++reports;
                         })
                  .ok());
  ASSERT_TRUE(sink_.WaitTaken(1));
  sink_.Finish(0);        // the broker's PUBACK
  EXPECT_EQ(reports, 1);  // at once, not at a commit
  EXPECT_EQ(outbox->messages(), 0);
  outbox->Close(core::Duration::zero());
  EXPECT_EQ(reports, 1);  // once
  EXPECT_EQ(Count("infergate_outbox_sent_total"), 1u);
  EXPECT_EQ(Count("infergate_outbox_writes_skipped_total"), 1u);
  EXPECT_EQ(Count("infergate_outbox_written_total"), 0u);
  EXPECT_EQ(Open(Options())->messages(), 0);  // never in the file
}

TEST_F(OutboxTest, ALostConnectionResendsMessagesNotCommittedYetInOrder) {
  auto outbox = OpenOn(NeverCommitting(Options()), &manual_clock_);
  outbox->Start(&sink_);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(outbox->Push(Message("m" + std::to_string(i))).ok());
  ASSERT_TRUE(sink_.WaitTaken(3));
  sink_.Finish(0);
  sink_.SetAccepting(false);  // the connection goes
  sink_.Finish(1, core::Unavailable("connection lost"));
  sink_.Finish(2, core::Unavailable("connection lost"));
  EXPECT_EQ(outbox->messages(), 2);
  sink_.SetAccepting(true);
  sink_.SetAutoAck(true);
  outbox->Wake();
  ASSERT_TRUE(sink_.WaitTaken(5));
  EXPECT_THAT(sink_.topics(), ElementsAreArray({"m0", "m1", "m2", "m1", "m2"}));
  ASSERT_TRUE(Eventually([&] { return outbox->messages() == 0; }));
  outbox->Close(core::Duration::zero());
  EXPECT_EQ(Count("infergate_outbox_written_total"), 0u);
  EXPECT_EQ(Count("infergate_outbox_writes_skipped_total"), 3u);
}

// kill -9 after the hand-over, before the broker's acknowledgement and the
// commit: the message is lost, and its on_safe never said OK (so whoever owed
// something for it, e.g. a request's acknowledgement, still owes it).
TEST_F(OutboxTest, SigkillBeforeAcknowledgementAndCommitLeavesNothingReportedSafe) {
  const std::string path = Options().path;
  testing::Process child({OUTBOX_CRASH_CHILD, path});
  ASSERT_TRUE(child.started());
  ASSERT_TRUE(child.WaitForLine("^handed over$")) << child.Output();
  ASSERT_EQ(child.Stop(SIGKILL), 128 + SIGKILL);
  const std::string output = child.Output();
  EXPECT_THAT(output, HasSubstr("taken m0 safe=0"));
  EXPECT_THAT(output, HasSubstr("taken m1 safe=0"));
  EXPECT_THAT(output, HasSubstr("safe m0"));  // acknowledged
  EXPECT_THAT(output, Not(HasSubstr("safe m1")));
  auto outbox = Open(Options());
  EXPECT_EQ(outbox->messages(), 0);  // m0 acknowledged, m1 never committed
}

}  // namespace
}  // namespace infergate::edge

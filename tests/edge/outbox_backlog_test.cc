// A backlog larger than the outbox's memory: read back from the file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "edge/outbox.h"
#include "edge/outbox_fixture.h"

namespace infergate::edge {
namespace {

using ::testing::ElementsAreArray;

TEST_F(OutboxTest, ABacklogBeyondMemoryBytesIsReadBackFromTheFileInOrder) {
  OutboxOptions options = Options();
  const int64_t record = static_cast<int64_t>(EncodeOutboxMessage(Message("m00", 100)).size());
  options.memory_bytes = 3 * record;  // 3 of the 40 stay in memory
  options.max_inflight = 4;
  auto outbox = Open(options);
  sink_.SetAccepting(false);
  outbox->Start(&sink_);
  PushDurably(*outbox, 40, 100);
  sink_.SetAccepting(true);
  sink_.SetAutoAck(true);
  outbox->Wake();
  ASSERT_TRUE(sink_.WaitTaken(40));
  EXPECT_THAT(sink_.topics(), ElementsAreArray(Topics(0, 40)));
  ASSERT_TRUE(Eventually([&] { return outbox->messages() == 0; }));
  EXPECT_EQ(Count("infergate_outbox_sent_total"), 40u);
}

TEST_F(OutboxTest, NewMessagesAfterABacklogKeepTheirPlace) {
  OutboxOptions options = Options();
  options.memory_bytes = 1;  // nothing stays in memory
  auto outbox = Open(options);
  sink_.SetAccepting(false);
  outbox->Start(&sink_);
  PushDurably(*outbox, 5);
  sink_.SetAccepting(true);
  outbox->Wake();
  ASSERT_TRUE(sink_.WaitTaken(5));
  PushDurably(*outbox, 5, 10, 5);
  ASSERT_TRUE(sink_.WaitTaken(10));
  EXPECT_THAT(sink_.topics(), ElementsAreArray(Topics(0, 10)));
  for (size_t i = 0; i < 10; ++i) sink_.Finish(i);
  ASSERT_TRUE(Eventually([&] { return outbox->messages() == 0; }));
}

}  // namespace
}  // namespace infergate::edge

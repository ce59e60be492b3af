#include "edge/outbox_message.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace infergate::edge {
namespace {

using ::testing::HasSubstr;

TEST(OutboxMessageTest, RoundTripsEveryField) {
  OutboxMessage m;
  m.topic = "replies/d1";
  m.payload = std::string("{\"x\":1}\0\xff", 9);
  m.qos = 2;
  m.retain = true;
  m.correlation_data = std::string("\0\1", 2);
  m.content_type = "application/json";
  m.user_properties = {{"k", "v"}, {"", ""}};
  auto decoded = DecodeOutboxMessage(EncodeOutboxMessage(m));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, m);
}

TEST(OutboxMessageTest, NoCorrelationDataStaysAbsent) {
  OutboxMessage m;
  m.topic = "t";
  m.correlation_data = std::nullopt;
  auto decoded = DecodeOutboxMessage(EncodeOutboxMessage(m));
  ASSERT_TRUE(decoded.ok());
  EXPECT_FALSE(decoded->correlation_data.has_value());
  m.correlation_data = "";
  decoded = DecodeOutboxMessage(EncodeOutboxMessage(m));
  ASSERT_TRUE(decoded->correlation_data.has_value());
}

TEST(OutboxMessageTest, DamagedRecordsAreErrorsNamingWhatIsWrong) {
  OutboxMessage m;
  m.topic = "a/topic";
  m.user_properties = {{"k", "v"}};
  const std::string record = EncodeOutboxMessage(m);
  EXPECT_THAT(DecodeOutboxMessage("IGI1....").status().message(), HasSubstr("does not start"));
  EXPECT_THAT(DecodeOutboxMessage(record.substr(0, 9)).status().message(), HasSubstr("topic"));
  std::string bad_qos = record;
  bad_qos[4] = 3;
  EXPECT_THAT(DecodeOutboxMessage(bad_qos).status().message(), HasSubstr("QoS 3"));
  for (size_t n = 0; n < record.size() - 1; ++n) {  // every truncation short of the payload
    EXPECT_FALSE(DecodeOutboxMessage(record.substr(0, n)).ok()) << n;
  }
}

}  // namespace
}  // namespace infergate::edge

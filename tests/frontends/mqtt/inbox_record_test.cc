#include "frontends/mqtt/inbox_record.h"

#include <gtest/gtest.h>

namespace infergate::mqtt {
namespace {

IncomingMessage FullMessage() {
  IncomingMessage m;
  m.topic = "plant/d1/vibration";
  m.payload = std::make_shared<const std::string>(std::string("{\"x\": [1, 2]}\0tail", 18));
  m.qos = 2;
  m.retain = true;
  m.response_topic = "replies/d1";
  m.correlation_data = std::string("\x00\x01\xff", 3);
  m.expiry_secs = 30;
  m.content_type = "application/json";
  m.user_properties = {{"k", "v"}, {"", ""}};
  return m;
}

TEST(InboxRecordTest, RoundTripsEveryField) {
  IncomingMessage in = FullMessage();
  auto out = DecodeInboxRecord(EncodeInboxRecord(in));
  ASSERT_TRUE(out.ok()) << out.status().message();
  const IncomingMessage& m = *out;
  EXPECT_EQ(m.topic, in.topic);
  EXPECT_EQ(*m.payload, *in.payload);
  EXPECT_EQ(m.qos, 2);
  EXPECT_TRUE(m.retain);
  EXPECT_EQ(m.response_topic, in.response_topic);
  EXPECT_EQ(m.correlation_data, in.correlation_data);
  EXPECT_EQ(m.expiry_secs, in.expiry_secs);
  EXPECT_EQ(m.content_type, in.content_type);
  EXPECT_EQ(m.user_properties, in.user_properties);
  EXPECT_EQ(m.ack.qos, 0);  // recovered requests were acknowledged before the crash
}

TEST(InboxRecordTest, AbsentOptionalsStayAbsent) {
  IncomingMessage in;
  in.topic = "t";
  in.payload = std::make_shared<const std::string>("");
  auto out = DecodeInboxRecord(EncodeInboxRecord(in));
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_FALSE(out->correlation_data.has_value());
  EXPECT_FALSE(out->expiry_secs.has_value());
  EXPECT_EQ(*out->payload, "");
}

TEST(InboxRecordTest, EveryTruncationIsAnErrorNamingThePart) {
  std::string bytes = EncodeInboxRecord(FullMessage());
  const size_t fixed = bytes.size() - FullMessage().payload->size();
  for (size_t n = 0; n < fixed; ++n) {
    auto out = DecodeInboxRecord(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(out.ok()) << "prefix of " << n << " bytes decoded";
    EXPECT_NE(out.status().message().find("inbox record"), std::string::npos);
  }
}

TEST(InboxRecordTest, HugeCountsAreDamageNotAllocations) {
  std::string bytes = EncodeInboxRecord(FullMessage());
  // The topic length field follows magic(4) qos(1) flags(1) expiry(4).
  bytes[10] = bytes[11] = bytes[12] = bytes[13] = '\xff';
  EXPECT_FALSE(DecodeInboxRecord(bytes).ok());
  EXPECT_FALSE(DecodeInboxRecord("IGI1\x03").ok());
  EXPECT_FALSE(DecodeInboxRecord("nope").ok());
}

}  // namespace
}  // namespace infergate::mqtt

// ReplySink without a client: packet sizes and replies too large for the
// packet limit.
#include "frontends/mqtt/reply_sink.h"

#include <gtest/gtest.h>

namespace infergate::mqtt {
namespace {

TEST(PublishPacketSizeTest, CountsHeaderTopicPacketIdPropertiesAndPayload) {
  OutgoingMessage m;
  m.topic = "a";
  m.payload = "x";
  EXPECT_EQ(PublishPacketSize(m, /*mqtt5=*/false), 6u);  // 1 + 1 + (2 + 1 + 1)
  EXPECT_EQ(PublishPacketSize(m, /*mqtt5=*/true), 7u);   // + an empty property length
  m.topic = "ab";
  m.qos = 1;
  m.payload.assign(200, 'p');
  m.correlation_data = "cd";
  m.content_type = "application/json";
  m.user_properties = {{"k", "v"}};
  // properties 5 + 19 + 7 = 31; remaining 2 + 2 + 2 + 200 + 1 + 31 = 238 (two length bytes)
  EXPECT_EQ(PublishPacketSize(m, /*mqtt5=*/true), 241u);
}

class ReplySinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sink_.metrics = &metrics_;
    sink_.requests = &metrics_.GetCounter("requests", "");
    sink_.replies = &metrics_.GetCounter("replies", "");
    sink_.reply_failures = &metrics_.GetCounter("reply_failures", "");
    sink_.inflight_gauge = &metrics_.GetGauge("inflight", "");
  }
  bool Rendered(const std::string& line) {
    return metrics_.RenderPrometheus().find(line) != std::string::npos;
  }
  core::MetricsRegistry metrics_;
  ReplySink sink_;
};

TEST_F(ReplySinkTest, AReplyOverTheLimitBecomesAnError) {
  sink_.max_reply_bytes = 120;
  ReplyTarget target{"replies/d1", std::nullopt, 1, false, "", {}};
  sink_.SendJson(target, std::string(60, 'x'), "m", "r1");
  EXPECT_FALSE(Rendered("reason=\"reply_too_large\""));
  sink_.SendJson(target, std::string(200, 'x'), "m", "r1");
  EXPECT_TRUE(Rendered("infergate_mqtt_requests_rejected_total{reason=\"reply_too_large\"} 1"));
  EXPECT_EQ(sink_.PacketLimit(), 120u);
}

}  // namespace
}  // namespace infergate::mqtt

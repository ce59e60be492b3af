#include "frontends/mqtt/mqtt_session.h"

#include <gtest/gtest.h>

namespace infergate::mqtt {
namespace {

constexpr auto kV5 = ProtocolVersion::kV5;

OutPublish Make(const std::string& payload, uint8_t qos, int* done_count = nullptr) {
  PublishPacket p;
  p.topic = "t";
  p.payload = payload;
  p.qos = qos;
  OutPublish out;
  EncodePublish(p, kV5, &out.bytes, &out.id_offset);
  out.qos = qos;
  if (done_count) out.done = [done_count](const core::Status& st) { *done_count += st.ok(); };
  return out;
}

// The packets in `bytes`, decoded.
std::vector<Packet> Packets(const std::string& bytes) {
  std::vector<Packet> out;
  std::string_view d(bytes);
  while (!d.empty()) {
    Frame f;
    bool complete = false;
    EXPECT_TRUE(NextFrame(d, 0, &f, &complete).ok());
    if (!complete) break;
    auto p = DecodePacket(f, kV5);
    EXPECT_TRUE(p.ok()) << p.status().message();
    if (p.ok()) out.push_back(std::move(*p));
    d.remove_prefix(f.size);
  }
  return out;
}

TEST(MqttSessionTest, TheWindowHoldsAtMostTheBrokersReceiveMaximum) {
  Session s(kV5);
  std::string out;
  s.Connected(false, SessionLimits{2, 0, 2}, core::TimePoint{}, &out);
  int done = 0;
  for (int i = 0; i < 3; ++i) s.Enqueue(Make(std::to_string(i), 1, &done));
  s.Enqueue(Make("q0", 0, &done));
  std::vector<Completion> written, failed;
  s.Fill(core::TimePoint{}, &out, &written, &failed);
  auto sent = Packets(out);
  ASSERT_EQ(sent.size(), 2u);  // the third waits; QoS 0 keeps its place behind it
  EXPECT_EQ(s.unacked(), 2u);
  EXPECT_EQ(s.queued_messages(), 2u);
  const uint16_t first = std::get<PublishPacket>(sent[0]).packet_id;
  std::vector<Completion> acked;
  s.OnAck(AckPacket{PacketType::kPuback, first, 0, {}}, &out, &acked);
  ASSERT_EQ(acked.size(), 1u);
  acked[0].done(acked[0].status);
  EXPECT_EQ(done, 1);
  out.clear();
  s.Fill(core::TimePoint{}, &out, &written, &failed);
  sent = Packets(out);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(std::get<PublishPacket>(sent[0]).payload, "2");
  EXPECT_EQ(std::get<PublishPacket>(sent[1]).payload, "q0");
  EXPECT_EQ(written.size(), 1u);
}

TEST(MqttSessionTest, AfterAReconnectTheWindowIsSentAgain) {
  for (bool session_present : {true, false}) {
    Session s(kV5);
    std::string out;
    s.Connected(false, SessionLimits{}, core::TimePoint{}, &out);
    s.Enqueue(Make("one", 1));
    s.Enqueue(Make("two", 2));
    s.Enqueue(Make("zero", 0));
    std::vector<Completion> written, failed, done;
    s.Fill(core::TimePoint{}, &out, &written, &failed);
    auto sent = Packets(out);
    const uint16_t two = std::get<PublishPacket>(sent[1]).packet_id;
    s.OnAck(AckPacket{PacketType::kPubrec, two, 0, {}}, &out, &done);  // "two" is released
    s.Disconnected(&done);
    out.clear();
    s.Connected(session_present, SessionLimits{}, core::TimePoint{}, &out);
    auto resent = Packets(out);
    ASSERT_EQ(resent.size(), 2u);
    const auto& p1 = std::get<PublishPacket>(resent[0]);
    EXPECT_EQ(p1.payload, "one");
    EXPECT_EQ(p1.dup, session_present);
    if (session_present) {
      EXPECT_EQ(std::get<AckPacket>(resent[1]).type, PacketType::kPubrel);  // the broker has "two"
    } else {
      EXPECT_EQ(std::get<PublishPacket>(resent[1]).payload, "two");  // a new session: sent again
      EXPECT_FALSE(std::get<PublishPacket>(resent[1]).dup);
    }
    EXPECT_TRUE(done.empty());  // QoS 0 had been written: nothing dropped
  }
}

TEST(MqttSessionTest, QueuedQos0IsDroppedWhenTheConnectionGoesAndTooLargeFails) {
  Session s(kV5);
  s.Enqueue(Make("zero", 0));
  s.Enqueue(Make("one", 1));
  std::vector<Completion> done;
  s.Disconnected(&done);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_STREQ(done[0].reason, "disconnected");
  std::string out;
  s.Connected(false, SessionLimits{10, 5, 2}, core::TimePoint{}, &out);
  std::vector<Completion> written, failed;
  s.Fill(core::TimePoint{}, &out, &written, &failed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_STREQ(failed[0].reason, "too_large");
  EXPECT_TRUE(s.idle());
}

TEST(MqttSessionTest, MaximumQosDowngradesQueuedPublishes) {
  Session s(kV5);
  std::string out;
  s.Connected(false, SessionLimits{10, 0, 0}, core::TimePoint{}, &out);
  s.Enqueue(Make("one", 1));
  std::vector<Completion> written, failed;
  s.Fill(core::TimePoint{}, &out, &written, &failed);
  auto sent = Packets(out);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(std::get<PublishPacket>(sent[0]).qos, 0);
  EXPECT_EQ(written.size(), 1u);
  EXPECT_EQ(s.unacked(), 0u);
}

TEST(MqttSessionTest, IncomingDuplicatesAreNotDeliveredTwice) {
  Session s(kV5);
  std::string out;
  PublishPacket p;
  p.topic = "t";
  p.qos = 2;
  p.packet_id = 9;
  EXPECT_TRUE(s.OnIncoming(p, &out));
  EXPECT_FALSE(s.OnIncoming(p, &out));  // still with the listener
  s.Acknowledge(9, 2, &out);            // PUBREC
  p.dup = true;
  EXPECT_FALSE(s.OnIncoming(p, &out));  // awaiting PUBREL: PUBREC again
  s.OnPubrel(9, &out);                  // PUBCOMP
  auto sent = Packets(out);
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(std::get<AckPacket>(sent[0]).type, PacketType::kPubrec);
  EXPECT_EQ(std::get<AckPacket>(sent[1]).type, PacketType::kPubrec);
  EXPECT_EQ(std::get<AckPacket>(sent[2]).type, PacketType::kPubcomp);
  EXPECT_EQ(s.incoming_unacked(), 0u);
  // An acknowledgement for a message not delivered (or acknowledged twice) sends nothing.
  out.clear();
  s.Acknowledge(9, 1, &out);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace infergate::mqtt

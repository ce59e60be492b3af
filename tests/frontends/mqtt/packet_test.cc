#include "frontends/mqtt/packet.h"

#include <gtest/gtest.h>

#include <string>

namespace infergate::mqtt {
namespace {

constexpr auto kV5 = ProtocolVersion::kV5;
constexpr auto kV311 = ProtocolVersion::kV311;

core::StatusOr<Packet> Decode(const std::string& bytes, ProtocolVersion v, uint32_t max = 0) {
  Frame frame;
  bool complete = false;
  RETURN_IF_ERROR(NextFrame(bytes, max, &frame, &complete));
  if (!complete) return core::InvalidArgument("incomplete");
  if (frame.size != bytes.size()) return core::InvalidArgument("trailing bytes");
  return DecodePacket(frame, v);
}

template <typename T>
T DecodeAs(const std::string& bytes, ProtocolVersion v) {
  auto p = Decode(bytes, v);
  EXPECT_TRUE(p.ok()) << p.status().message();
  if (!p.ok() || !std::holds_alternative<T>(*p)) {
    ADD_FAILURE() << "wrong packet type";
    return T{};
  }
  return std::get<T>(std::move(*p));
}

// Every prefix of a packet (its length adjusted to the prefix) fails to
// decode cleanly or frames as incomplete; none crashes.
void ExpectTruncationsFail(const std::string& bytes, ProtocolVersion v) {
  for (size_t n = 0; n < bytes.size(); ++n) {
    Frame frame;
    bool complete = true;
    ASSERT_TRUE(NextFrame(bytes.substr(0, n), 0, &frame, &complete).ok());
    EXPECT_FALSE(complete) << n;
  }
  // The same body cut short but framed as complete.
  Frame whole;
  bool complete = false;
  ASSERT_TRUE(NextFrame(bytes, 0, &whole, &complete).ok());
  for (size_t n = 0; n < whole.body.size(); ++n) {
    Frame cut = whole;
    cut.body = whole.body.substr(0, n);
    (void)DecodePacket(cut, v);  // must not crash; some prefixes are valid packets
  }
}

TEST(MqttPacketTest, ConnectV311MatchesTheSpecLayout) {
  ConnectPacket c;
  c.version = kV311;
  c.client_id = "ab";
  c.keep_alive = 60;
  std::string out;
  EncodeConnect(c, &out);
  const std::string expected("\x10\x0E\x00\x04MQTT\x04\x02\x00\x3C\x00\x02" "ab", 16);
  EXPECT_EQ(out, expected);
}

TEST(MqttPacketTest, ConnectRoundTripsBothVersions) {
  for (auto v : {kV311, kV5}) {
    ConnectPacket c;
    c.version = v;
    c.client_id = "infergate-1";
    c.clean_start = false;
    c.keep_alive = 30;
    c.username = "user";
    c.password = std::string("p\0w", 3);
    c.will = Will{"infergate/status/x", "offline", 1, true, {}};
    if (v == kV5) {
      c.properties.session_expiry = 3600;
      c.properties.receive_maximum = 256;
      c.properties.maximum_packet_size = 1 << 20;
    }
    std::string out;
    EncodeConnect(c, &out);
    auto d = DecodeAs<ConnectPacket>(out, v);
    EXPECT_EQ(d.version, v);
    EXPECT_EQ(d.client_id, "infergate-1");
    EXPECT_FALSE(d.clean_start);
    EXPECT_EQ(d.keep_alive, 30);
    EXPECT_EQ(d.username, "user");
    EXPECT_EQ(d.password, std::string("p\0w", 3));
    ASSERT_TRUE(d.will);
    EXPECT_EQ(d.will->topic, "infergate/status/x");
    EXPECT_EQ(d.will->payload, "offline");
    EXPECT_EQ(d.will->qos, 1);
    EXPECT_TRUE(d.will->retain);
    if (v == kV5) {
      EXPECT_EQ(d.properties.session_expiry, 3600u);
      EXPECT_EQ(d.properties.receive_maximum, 256);
      EXPECT_EQ(d.properties.maximum_packet_size, 1u << 20);
    }
    ExpectTruncationsFail(out, v);
  }
}

TEST(MqttPacketTest, ConnackV5CarriesTheServerLimits) {
  ConnackPacket c;
  c.session_present = true;
  c.properties.receive_maximum = 20;
  c.properties.maximum_packet_size = 1000;
  c.properties.maximum_qos = 1;
  c.properties.retain_available = 0;
  c.properties.assigned_client_id = "auto-1";
  c.properties.server_keep_alive = 15;
  c.properties.topic_alias_maximum = 10;
  c.properties.session_expiry = 60;
  c.properties.reason_string = "welcome";
  c.properties.user_properties = {{"a", "1"}, {"a", "2"}};
  std::string out;
  EncodeConnack(c, kV5, &out);
  auto d = DecodeAs<ConnackPacket>(out, kV5);
  EXPECT_TRUE(d.session_present);
  EXPECT_EQ(d.reason, 0);
  EXPECT_EQ(d.properties.receive_maximum, 20);
  EXPECT_EQ(d.properties.maximum_packet_size, 1000u);
  EXPECT_EQ(d.properties.maximum_qos, 1);
  EXPECT_EQ(d.properties.retain_available, 0);
  EXPECT_EQ(d.properties.assigned_client_id, "auto-1");
  EXPECT_EQ(d.properties.server_keep_alive, 15);
  EXPECT_EQ(d.properties.topic_alias_maximum, 10);
  EXPECT_EQ(d.properties.reason_string, "welcome");
  ASSERT_EQ(d.properties.user_properties.size(), 2u);
  ExpectTruncationsFail(out, kV5);
}

TEST(MqttPacketTest, ConnackV311IsTwoBytes) {
  auto d = DecodeAs<ConnackPacket>(std::string("\x20\x02\x01\x05", 4), kV311);
  EXPECT_TRUE(d.session_present);
  EXPECT_EQ(d.reason, 5);
  EXPECT_EQ(Decode(std::string("\x20\x03\x00\x00\x00", 5), kV311).status().code(),
            core::StatusCode::kInvalidArgument);
  EXPECT_EQ(Decode(std::string("\x20\x02\x02\x00", 4), kV311).status().code(),
            core::StatusCode::kInvalidArgument);  // reserved flag
}

TEST(MqttPacketTest, ConnackSkipsPropertiesTheClientDoesNotUse) {
  // Wildcard Subscription Available (0x28) and Response Information (0x1A).
  std::string props("\x28\x01\x1A\x00\x02hi", 7);
  std::string out("\x20", 1);
  out += static_cast<char>(2 + 1 + props.size());
  out += std::string("\x00\x00", 2);
  out += static_cast<char>(props.size());
  out += props;
  auto d = DecodeAs<ConnackPacket>(out, kV5);
  EXPECT_EQ(d.reason, 0);
}

TEST(MqttPacketTest, PublishRoundTripsEveryQosBothVersions) {
  for (auto v : {kV311, kV5}) {
    for (uint8_t qos = 0; qos <= 2; ++qos) {
      PublishPacket p;
      p.topic = "infergate/models/m/infer";
      p.payload = "{\"inputs\": []}";
      p.qos = qos;
      p.retain = qos == 1;
      p.dup = qos == 2;
      p.packet_id = qos ? 4242 : 0;
      if (v == kV5) {
        p.properties.response_topic = "dev/1/reply";
        p.properties.correlation_data = std::string("\x00\x01", 2);
        p.properties.message_expiry = 30;
        p.properties.content_type = "application/json";
        p.properties.payload_format = 1;
        p.properties.user_properties = {{"k", "v"}};
      }
      std::string out;
      size_t id_offset = 0;
      EncodePublish(p, v, &out, &id_offset);
      EXPECT_EQ(out.size(), PublishSize(p, v));
      auto d = DecodeAs<PublishPacket>(out, v);
      EXPECT_EQ(d.topic, p.topic);
      EXPECT_EQ(d.payload, p.payload);
      EXPECT_EQ(d.qos, qos);
      EXPECT_EQ(d.retain, p.retain);
      EXPECT_EQ(d.dup, p.dup);
      EXPECT_EQ(d.packet_id, p.packet_id);
      if (v == kV5) {
        EXPECT_EQ(d.properties.response_topic, "dev/1/reply");
        EXPECT_EQ(d.properties.correlation_data, std::string("\x00\x01", 2));
        EXPECT_EQ(d.properties.message_expiry, 30u);
        EXPECT_EQ(d.properties.content_type, "application/json");
        EXPECT_EQ(d.properties.user_properties.size(), 1u);
      }
      ExpectTruncationsFail(out, v);
    }
  }
}

TEST(MqttPacketTest, PublishRejectsWhatTheSpecForbids) {
  // QoS 3.
  EXPECT_EQ(Decode(std::string("\x36\x05\x00\x01t\x00\x01", 7), kV311).status().code(),
            core::StatusCode::kInvalidArgument);
  // DUP on QoS 0.
  EXPECT_EQ(Decode(std::string("\x38\x03\x00\x01t", 5), kV311).status().code(),
            core::StatusCode::kInvalidArgument);
  // Packet id 0.
  EXPECT_EQ(Decode(std::string("\x32\x05\x00\x01t\x00\x00", 7), kV311).status().code(),
            core::StatusCode::kInvalidArgument);
  // A wildcard in the topic name.
  EXPECT_EQ(Decode(std::string("\x30\x03\x00\x01#", 5), kV311).status().code(),
            core::StatusCode::kFailedPrecondition);
  // Invalid UTF-8 in the topic name.
  EXPECT_EQ(Decode(std::string("\x30\x03\x00\x01\xFF", 5), kV311).status().code(),
            core::StatusCode::kInvalidArgument);
  // v5: an empty topic without a Topic Alias.
  EXPECT_EQ(Decode(std::string("\x30\x03\x00\x00\x00", 5), kV5).status().code(),
            core::StatusCode::kFailedPrecondition);
}

TEST(MqttPacketTest, AcksRoundTripBothVersions) {
  for (auto type : {PacketType::kPuback, PacketType::kPubrec, PacketType::kPubrel, PacketType::kPubcomp}) {
    std::string out;
    EncodeAck(AckPacket{type, 7, 0, {}}, kV311, &out);
    ASSERT_EQ(out.size(), 4u);
    EXPECT_EQ(static_cast<uint8_t>(out[0]), (static_cast<uint8_t>(type) << 4) | (type == PacketType::kPubrel ? 2 : 0));
    auto d = DecodeAs<AckPacket>(out, kV311);
    EXPECT_EQ(d.type, type);
    EXPECT_EQ(d.packet_id, 7);

    AckPacket a{type, 9, 0x87, {}};
    a.properties.reason_string = "not authorized";
    out.clear();
    EncodeAck(a, kV5, &out);
    d = DecodeAs<AckPacket>(out, kV5);
    EXPECT_EQ(d.packet_id, 9);
    EXPECT_EQ(d.reason, 0x87);
    EXPECT_EQ(d.properties.reason_string, "not authorized");
    ExpectTruncationsFail(out, kV5);
    // v5 short forms: no reason code (success), reason code without properties.
    std::string short_form(1, out[0]);
    short_form += std::string("\x03\x00\x09\x10", 4);
    EXPECT_EQ(DecodeAs<AckPacket>(short_form, kV5).reason, 0x10);
  }
  // PUBREL must carry flags 0010.
  EXPECT_EQ(Decode(std::string("\x60\x02\x00\x01", 4), kV311).status().code(),
            core::StatusCode::kInvalidArgument);
  // v3.1.1 acks are exactly two bytes.
  EXPECT_FALSE(Decode(std::string("\x40\x03\x00\x01\x00", 5), kV311).ok());
}

TEST(MqttPacketTest, SubscribeAndSubackRoundTrip) {
  for (auto v : {kV311, kV5}) {
    SubscribePacket s;
    s.packet_id = 3;
    s.filters = {{"a/+/b", 1}, {"$share/g/c/#", 2}};
    std::string out;
    EncodeSubscribe(s, v, &out);
    auto d = DecodeAs<SubscribePacket>(out, v);
    EXPECT_EQ(d.packet_id, 3);
    ASSERT_EQ(d.filters.size(), 2u);
    EXPECT_EQ(d.filters[1].first, "$share/g/c/#");
    EXPECT_EQ(d.filters[1].second, 2);

    SubackPacket a{PacketType::kSuback, 3, {1, 0x80}, {}};
    out.clear();
    EncodeSuback(a, v, &out);
    auto sa = DecodeAs<SubackPacket>(out, v);
    EXPECT_EQ(sa.packet_id, 3);
    EXPECT_EQ(sa.reasons, (std::vector<uint8_t>{1, 0x80}));
    ExpectTruncationsFail(out, v);

    UnsubscribePacket u{4, {"a/+/b"}, {}};
    out.clear();
    EncodeUnsubscribe(u, v, &out);
    EXPECT_EQ(DecodeAs<UnsubscribePacket>(out, v).filters.size(), 1u);

    SubackPacket ua{PacketType::kUnsuback, 4, {}, {}};
    if (v == kV5) ua.reasons = {0};
    out.clear();
    EncodeSuback(ua, v, &out);
    EXPECT_EQ(DecodeAs<SubackPacket>(out, v).packet_id, 4);
  }
  // A SUBSCRIBE without filters is a protocol error.
  EXPECT_EQ(Decode(std::string("\x82\x02\x00\x01", 4), kV311).status().code(),
            core::StatusCode::kFailedPrecondition);
}

TEST(MqttPacketTest, PingAndDisconnect) {
  std::string out;
  EncodePing(PacketType::kPingreq, &out);
  EXPECT_EQ(out, std::string("\xC0\x00", 2));
  EXPECT_EQ(DecodeAs<PingPacket>(std::string("\xD0\x00", 2), kV5).type, PacketType::kPingresp);
  EXPECT_FALSE(Decode(std::string("\xD0\x01\x00", 3), kV5).ok());

  out.clear();
  EncodeDisconnect(DisconnectPacket{}, kV311, &out);
  EXPECT_EQ(out, std::string("\xE0\x00", 2));
  EXPECT_EQ(DecodeAs<DisconnectPacket>(out, kV5).reason, 0);

  DisconnectPacket d{0x8B, {}};  // server shutting down
  d.properties.reason_string = "bye";
  out.clear();
  EncodeDisconnect(d, kV5, &out);
  auto dd = DecodeAs<DisconnectPacket>(out, kV5);
  EXPECT_EQ(dd.reason, 0x8B);
  EXPECT_EQ(dd.properties.reason_string, "bye");
  ExpectTruncationsFail(out, kV5);
  EXPECT_FALSE(Decode(std::string("\xE0\x01\x8B", 3), kV311).ok());
}

// A CONNACK (v5) whose properties are `props`.
std::string ConnackWith(const std::string& props) {
  std::string out("\x20", 1);
  out += static_cast<char>(3 + props.size());
  out += std::string("\x00\x00", 2);
  out += static_cast<char>(props.size());
  return out + props;
}

TEST(MqttPacketTest, MalformedPropertiesAreRefused) {
  auto code = [](const std::string& props) { return Decode(ConnackWith(props), kV5).status().code(); };
  EXPECT_EQ(code(std::string("\x21\x00\x05\x21\x00\x06", 6)), core::StatusCode::kFailedPrecondition);  // twice
  EXPECT_EQ(code(std::string("\x21\x00\x00", 3)), core::StatusCode::kFailedPrecondition);  // receive max 0
  EXPECT_EQ(code(std::string("\x24\x02", 2)), core::StatusCode::kFailedPrecondition);      // maximum QoS 2
  EXPECT_EQ(code(std::string("\x27\x00\x00\x00\x00", 5)), core::StatusCode::kFailedPrecondition);  // size 0
  EXPECT_EQ(code(std::string("\x08\x00\x01x", 4)), core::StatusCode::kFailedPrecondition);  // not in CONNACK
  EXPECT_EQ(code(std::string("\x7F\x00", 2)), core::StatusCode::kInvalidArgument);  // unknown identifier
  EXPECT_EQ(code(std::string("\x1F\x00\x05x", 4)), core::StatusCode::kInvalidArgument);  // truncated string
  EXPECT_EQ(code(std::string("\x1F\x00\x02\xC0\x80", 5)), core::StatusCode::kInvalidArgument);  // overlong
  EXPECT_EQ(code(std::string("\x21\x00", 2)), core::StatusCode::kInvalidArgument);  // truncated integer
  // The property length runs past the packet.
  EXPECT_EQ(Decode(std::string("\x20\x03\x00\x00\x09", 5), kV5).status().code(),
            core::StatusCode::kInvalidArgument);
}

TEST(MqttPacketTest, FramingChecksTheRemainingLength) {
  Frame f;
  bool complete = true;
  // Five length bytes.
  auto st = NextFrame(std::string("\x30\xFF\xFF\xFF\xFF\x01", 6), 0, &f, &complete);
  EXPECT_EQ(st.code(), core::StatusCode::kInvalidArgument);
  // Larger than the limit: refused before the body arrives.
  st = NextFrame(std::string("\x30\xE8\x07", 3), 100, &f, &complete);
  EXPECT_EQ(st.code(), core::StatusCode::kResourceExhausted);
  EXPECT_EQ(DisconnectReasonFor(st), reason::kPacketTooLarge);
  // Incomplete.
  ASSERT_TRUE(NextFrame(std::string("\x30\x05\x00", 3), 0, &f, &complete).ok());
  EXPECT_FALSE(complete);
  // Largest value.
  ASSERT_TRUE(NextFrame(std::string("\x30\xFF\xFF\xFF\x7F", 5), 0, &f, &complete).ok());
  EXPECT_FALSE(complete);
  // Length encodings at each size boundary.
  for (uint32_t n : {0u, 127u, 128u, 16383u, 16384u, 70000u}) {
    PublishPacket p;
    p.topic = "t";
    std::string payload(n, 'x');
    p.payload = payload;
    std::string out;
    EncodePublish(p, kV311, &out);
    ASSERT_TRUE(NextFrame(out, 0, &f, &complete).ok());
    EXPECT_TRUE(complete);
    EXPECT_EQ(f.size, out.size());
  }
}

TEST(MqttPacketTest, Utf8Rule) {
  EXPECT_TRUE(ValidMqttUtf8("plain/topic"));
  EXPECT_TRUE(ValidMqttUtf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
  EXPECT_FALSE(ValidMqttUtf8(std::string("a\0b", 3)));   // U+0000
  EXPECT_FALSE(ValidMqttUtf8("\xED\xA0\x80"));           // a surrogate
  EXPECT_FALSE(ValidMqttUtf8("\xE0\x80\xAF"));           // overlong
  EXPECT_FALSE(ValidMqttUtf8("\xF4\x90\x80\x80"));       // above U+10FFFF
  EXPECT_FALSE(ValidMqttUtf8("\xC3"));                   // truncated
}

TEST(MqttPacketTest, QueuedPublishIsPatchedAndDowngraded) {
  PublishPacket p;
  p.topic = "a/b";
  p.payload = "data";
  p.qos = 1;
  p.properties.content_type = "text/plain";
  std::string out;
  size_t id_offset = 0;
  EncodePublish(p, kV5, &out, &id_offset);
  SetPublishId(&out, id_offset, 0x1234);
  SetPublishDup(&out, true);
  auto d = DecodeAs<PublishPacket>(out, kV5);
  EXPECT_EQ(d.packet_id, 0x1234);
  EXPECT_TRUE(d.dup);

  std::string zero = DowngradePublish(out, &id_offset, 0);
  auto z = DecodeAs<PublishPacket>(zero, kV5);
  EXPECT_EQ(z.qos, 0);
  EXPECT_FALSE(z.dup);
  EXPECT_EQ(z.topic, "a/b");
  EXPECT_EQ(z.payload, "data");
  EXPECT_EQ(z.properties.content_type, "text/plain");
}

TEST(MqttPacketTest, ServerOnlyPacketsAndAuthAreTyped) {
  EXPECT_EQ(Decode(std::string("\xF0\x00", 2), kV5).status().code(), core::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Decode(std::string("\x00\x00", 2), kV5).status().code(), core::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infergate::mqtt

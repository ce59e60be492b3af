// The MQTT packet codec (frontends/mqtt/packet.h) as the client reads a
// broker's byte stream: framing, then decoding each packet.
//
// Input: one byte of options (bit 0: MQTT 5, else 3.1.1; bit 1: a 64-byte
// maximum packet size), then the stream. Every packet that decodes is
// encoded again; that encoding must decode, and encode to the same bytes.
#include <cstdlib>
#include <string>

#include "frontends/mqtt/packet.h"
#include "fuzz/fuzz_input.h"

namespace infergate::fuzz {
namespace {

using mqtt::Packet;
using mqtt::ProtocolVersion;

std::string Encode(const Packet& packet, ProtocolVersion v) {
  std::string out;
  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, mqtt::ConnectPacket>) mqtt::EncodeConnect(p, &out);
        if constexpr (std::is_same_v<T, mqtt::ConnackPacket>) mqtt::EncodeConnack(p, v, &out);
        if constexpr (std::is_same_v<T, mqtt::PublishPacket>) mqtt::EncodePublish(p, v, &out);
        if constexpr (std::is_same_v<T, mqtt::AckPacket>) mqtt::EncodeAck(p, v, &out);
        if constexpr (std::is_same_v<T, mqtt::SubscribePacket>) mqtt::EncodeSubscribe(p, v, &out);
        if constexpr (std::is_same_v<T, mqtt::SubackPacket>) mqtt::EncodeSuback(p, v, &out);
        if constexpr (std::is_same_v<T, mqtt::UnsubscribePacket>) mqtt::EncodeUnsubscribe(p, v, &out);
        if constexpr (std::is_same_v<T, mqtt::DisconnectPacket>) mqtt::EncodeDisconnect(p, v, &out);
        if constexpr (std::is_same_v<T, mqtt::PingPacket>) mqtt::EncodePing(p.type, &out);
      },
      packet);
  return out;
}

// Decodes one whole encoded packet.
core::StatusOr<Packet> DecodeAll(const std::string& bytes, ProtocolVersion v) {
  mqtt::Frame frame;
  bool complete = false;
  RETURN_IF_ERROR(mqtt::NextFrame(bytes, 0, &frame, &complete));
  if (!complete || frame.size != bytes.size()) std::abort();
  return mqtt::DecodePacket(frame, v);
}

void Run(std::string_view in) {
  const uint8_t options = TakeByte(&in);
  const ProtocolVersion v = options & 1 ? ProtocolVersion::kV5 : ProtocolVersion::kV311;
  const uint32_t max_size = options & 2 ? 64 : 0;
  while (!in.empty()) {
    mqtt::Frame frame;
    bool complete = false;
    if (!mqtt::NextFrame(in, max_size, &frame, &complete).ok() || !complete) return;
    in.remove_prefix(frame.size);
    auto packet = mqtt::DecodePacket(frame, v);
    if (!packet.ok()) {
      (void)mqtt::DisconnectReasonFor(packet.status());
      continue;
    }
    const auto* connect = std::get_if<mqtt::ConnectPacket>(&*packet);
    const ProtocolVersion pv = connect ? connect->version : v;
    const std::string once = Encode(*packet, pv);
    auto again = DecodeAll(once, pv);
    if (!again.ok()) std::abort();  // what we encode must decode
    if (Encode(*again, pv) != once) std::abort();
  }
}

}  // namespace
}  // namespace infergate::fuzz

INFERGATE_FUZZ_TARGET(infergate::fuzz::Run)

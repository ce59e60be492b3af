// MQTT 3.1.1 and 5 control packets as bytes: the encoders the client sends
// with and the decoders for what a broker sends (and, for tests and the
// fuzzer, the packets a client sends). Pure functions, no IO.
//
// Decoding never trusts a length: a truncated, oversized or malformed packet
// is an error Status naming the packet and the field. The code says which
// v5 DISCONNECT reason fits (DisconnectReasonFor): INVALID_ARGUMENT is a
// malformed packet (0x81), FAILED_PRECONDITION a protocol error (0x82),
// RESOURCE_EXHAUSTED a packet too large (0x95).
//
// Properties (MQTT 5): every defined property is recognised by its
// identifier and checked against the packets it may appear in, its type,
// its value range and "at most once" (User Property and Subscription
// Identifier may repeat); the ones the client does not use are skipped after
// that check. An unknown identifier is malformed.
//
// Thread-safety: pure functions; call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/status.h"

namespace infergate::mqtt {

enum class PacketType : uint8_t {
  kConnect = 1,
  kConnack = 2,
  kPublish = 3,
  kPuback = 4,
  kPubrec = 5,
  kPubrel = 6,
  kPubcomp = 7,
  kSubscribe = 8,
  kSuback = 9,
  kUnsubscribe = 10,
  kUnsuback = 11,
  kPingreq = 12,
  kPingresp = 13,
  kDisconnect = 14,
  kAuth = 15,
};
std::string_view PacketTypeName(PacketType type);

enum class ProtocolVersion : uint8_t { kV311 = 4, kV5 = 5 };

// MQTT 5 reason codes the client sends or names.
namespace reason {
inline constexpr uint8_t kSuccess = 0x00;
inline constexpr uint8_t kUnspecified = 0x80;
inline constexpr uint8_t kMalformedPacket = 0x81;
inline constexpr uint8_t kProtocolError = 0x82;
inline constexpr uint8_t kKeepAliveTimeout = 0x8D;
inline constexpr uint8_t kReceiveMaximumExceeded = 0x93;
inline constexpr uint8_t kTopicAliasInvalid = 0x94;
inline constexpr uint8_t kPacketTooLarge = 0x95;
}  // namespace reason

// The largest Remaining Length a Variable Byte Integer can carry.
inline constexpr uint32_t kMaxVarInt = 268'435'455;

// MQTT 5 properties. Absent ones are nullopt / empty.
struct Properties {
  std::optional<uint8_t> payload_format;          // 0x01
  std::optional<uint32_t> message_expiry;         // 0x02
  std::optional<std::string> content_type;        // 0x03
  std::optional<std::string> response_topic;      // 0x08
  std::optional<std::string> correlation_data;    // 0x09
  std::vector<uint32_t> subscription_ids;         // 0x0B
  std::optional<uint32_t> session_expiry;         // 0x11
  std::optional<std::string> assigned_client_id;  // 0x12
  std::optional<uint16_t> server_keep_alive;      // 0x13
  std::optional<uint16_t> receive_maximum;        // 0x21
  std::optional<uint16_t> topic_alias_maximum;    // 0x22
  std::optional<uint16_t> topic_alias;            // 0x23
  std::optional<uint8_t> maximum_qos;             // 0x24
  std::optional<uint8_t> retain_available;        // 0x25
  std::optional<uint32_t> maximum_packet_size;    // 0x27
  std::optional<std::string> reason_string;       // 0x1F
  std::vector<std::pair<std::string, std::string>> user_properties;  // 0x26
};

struct Will {
  std::string topic;
  std::string payload;
  uint8_t qos = 0;
  bool retain = false;
  Properties properties;  // MQTT 5 Will Properties
};

struct ConnectPacket {
  ProtocolVersion version = ProtocolVersion::kV5;
  std::string client_id;
  bool clean_start = true;
  uint16_t keep_alive = 0;
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::optional<Will> will;
  Properties properties;
};

struct ConnackPacket {
  bool session_present = false;
  uint8_t reason = 0;  // MQTT 3.1.1: the return code (0..5)
  Properties properties;
};

// A PUBLISH. Decoded, `payload` views the decoded bytes.
struct PublishPacket {
  std::string topic;
  std::string_view payload;
  uint8_t qos = 0;
  bool retain = false;
  bool dup = false;
  uint16_t packet_id = 0;  // QoS 1 and 2 only
  Properties properties;
};

// PUBACK, PUBREC, PUBREL, PUBCOMP.
struct AckPacket {
  PacketType type = PacketType::kPuback;
  uint16_t packet_id = 0;
  uint8_t reason = 0;
  Properties properties;
};

struct SubscribePacket {
  uint16_t packet_id = 0;
  std::vector<std::pair<std::string, uint8_t>> filters;  // filter, options (QoS in bits 0-1)
  Properties properties;
};

// SUBACK and UNSUBACK (MQTT 3.1.1 UNSUBACK has no reason codes).
struct SubackPacket {
  PacketType type = PacketType::kSuback;
  uint16_t packet_id = 0;
  std::vector<uint8_t> reasons;
  Properties properties;
};

struct UnsubscribePacket {
  uint16_t packet_id = 0;
  std::vector<std::string> filters;
  Properties properties;
};

struct DisconnectPacket {
  uint8_t reason = 0;
  Properties properties;
};

// PINGREQ and PINGRESP.
struct PingPacket {
  PacketType type = PacketType::kPingresp;
};

using Packet = std::variant<ConnectPacket, ConnackPacket, PublishPacket, AckPacket, SubscribePacket,
                            SubackPacket, UnsubscribePacket, DisconnectPacket, PingPacket>;

// One packet framed in a byte stream: the fixed header's first byte and the
// Remaining Length bytes after the header.
struct Frame {
  uint8_t first = 0;
  std::string_view body;
  size_t size = 0;  // fixed header + body
  PacketType type() const { return static_cast<PacketType>(first >> 4); }
  uint8_t flags() const { return first & 0x0F; }
};

// Frames the packet at the start of `data`. Returns false (and OK) when more
// bytes are needed; an error when the length is malformed or the whole
// packet would exceed `max_size` bytes (0: no limit).
core::Status NextFrame(std::string_view data, uint32_t max_size, Frame* frame, bool* complete);

// Decodes a framed packet (any type except AUTH, which the client never
// negotiates). `payload` views point into frame.body.
core::StatusOr<Packet> DecodePacket(const Frame& frame, ProtocolVersion version);

// The v5 DISCONNECT reason for a decode error.
uint8_t DisconnectReasonFor(const core::Status& status);

// Encoders append one packet to `out`.
void EncodeConnect(const ConnectPacket& packet, std::string* out);
void EncodeConnack(const ConnackPacket& packet, ProtocolVersion version, std::string* out);
// `id_offset`, when given, receives the offset in `out` of the packet
// identifier (QoS 1/2), so a queued packet can get its id when it is sent.
void EncodePublish(const PublishPacket& packet, ProtocolVersion version, std::string* out,
                   size_t* id_offset = nullptr);
void EncodeAck(const AckPacket& packet, ProtocolVersion version, std::string* out);
void EncodeSubscribe(const SubscribePacket& packet, ProtocolVersion version, std::string* out);
void EncodeSuback(const SubackPacket& packet, ProtocolVersion version, std::string* out);
void EncodeUnsubscribe(const UnsubscribePacket& packet, ProtocolVersion version, std::string* out);
void EncodeDisconnect(const DisconnectPacket& packet, ProtocolVersion version, std::string* out);
void EncodePing(PacketType type, std::string* out);

// The size EncodePublish would write (to check a broker's Maximum Packet Size).
size_t PublishSize(const PublishPacket& packet, ProtocolVersion version);

// Rewrites an encoded PUBLISH in place: the DUP flag, and the packet id at
// `id_offset`.
void SetPublishDup(std::string* bytes, bool dup);
void SetPublishId(std::string* bytes, size_t id_offset, uint16_t packet_id);
// An encoded QoS 1/2 PUBLISH at a lower QoS (a broker's Maximum QoS):
// QoS 0 drops the packet id, so the packet is rebuilt. `id_offset` is updated.
std::string DowngradePublish(const std::string& bytes, size_t* id_offset, uint8_t qos);

// True when `s` is well-formed UTF-8 without U+0000 (MQTT's UTF-8 string rule).
bool ValidMqttUtf8(std::string_view s);

}  // namespace infergate::mqtt

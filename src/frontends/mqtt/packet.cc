#include "frontends/mqtt/packet.h"

#include "frontends/mqtt/packet_wire.h"

namespace infergate::mqtt {

using wire::Malformed;
using wire::ProtocolError;
using wire::Reader;

std::string_view PacketTypeName(PacketType type) {
  static constexpr std::string_view kNames[] = {
      "reserved", "CONNECT",     "CONNACK",  "PUBLISH", "PUBACK",  "PUBREC",
      "PUBREL",   "PUBCOMP",     "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK",
      "PINGREQ",  "PINGRESP",    "DISCONNECT", "AUTH"};
  return kNames[static_cast<int>(type) & 0x0F];
}

core::Status NextFrame(std::string_view data, uint32_t max_size, Frame* frame, bool* complete) {
  *complete = false;
  if (data.empty()) return core::Status::Ok();
  uint32_t remaining = 0;
  size_t i = 1;
  for (int shift = 0;; shift += 7) {
    if (i >= data.size()) return core::Status::Ok();  // the length is still coming
    auto b = static_cast<uint8_t>(data[i++]);
    remaining |= static_cast<uint32_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) break;
    if (i == 5) {
      return core::InvalidArgument("mqtt: malformed packet: Remaining Length longer than 4 bytes");
    }
  }
  const uint64_t total = i + static_cast<uint64_t>(remaining);
  if (max_size && total > max_size) {
    return core::ResourceExhausted("mqtt: " +
                                   std::string(PacketTypeName(static_cast<PacketType>(
                                       static_cast<uint8_t>(data[0]) >> 4))) +
                                   " of " + std::to_string(total) + " bytes exceeds the maximum packet size (" +
                                   std::to_string(max_size) + ")");
  }
  if (data.size() < total) return core::Status::Ok();
  frame->first = static_cast<uint8_t>(data[0]);
  frame->body = data.substr(i, remaining);
  frame->size = static_cast<size_t>(total);
  *complete = true;
  return core::Status::Ok();
}

uint8_t DisconnectReasonFor(const core::Status& status) {
  switch (status.code()) {
    case core::StatusCode::kInvalidArgument: return reason::kMalformedPacket;
    case core::StatusCode::kFailedPrecondition: return reason::kProtocolError;
    case core::StatusCode::kResourceExhausted: return reason::kPacketTooLarge;
    default: return reason::kUnspecified;
  }
}

namespace {

bool IsV5(ProtocolVersion v) { return v == ProtocolVersion::kV5; }

core::Status ReadPacketId(Reader* r, PacketType t, uint16_t* id) {
  if (!r->U16(id)) return Malformed(t, "packet identifier truncated");
  if (*id == 0) return Malformed(t, "packet identifier 0");
  return core::Status::Ok();
}

core::Status ExpectEnd(const Reader& r, PacketType t) {
  if (r.left() != 0) return Malformed(t, std::to_string(r.left()) + " unexpected bytes at the end");
  return core::Status::Ok();
}

core::StatusOr<Packet> DecodeConnect(Reader r) {
  constexpr auto t = PacketType::kConnect;
  ConnectPacket p;
  std::string name;
  RETURN_IF_ERROR(wire::ReadString(&r, t, "protocol name", &name));
  uint8_t level = 0, flags = 0;
  if (!r.Byte(&level) || !r.Byte(&flags) || !r.U16(&p.keep_alive)) return Malformed(t, "header truncated");
  if (name != "MQTT" || (level != 4 && level != 5)) return ProtocolError(t, "unsupported protocol");
  p.version = static_cast<ProtocolVersion>(level);
  if (flags & 0x01) return Malformed(t, "reserved flag set");
  p.clean_start = flags & 0x02;
  if (IsV5(p.version)) RETURN_IF_ERROR(wire::ReadProperties(&r, t, false, &p.properties));
  RETURN_IF_ERROR(wire::ReadString(&r, t, "client identifier", &p.client_id));
  const uint8_t will_qos = (flags >> 3) & 3;
  if (flags & 0x04) {
    Will w;
    if (will_qos == 3) return Malformed(t, "will QoS 3");
    w.qos = will_qos;
    w.retain = flags & 0x20;
    if (IsV5(p.version)) RETURN_IF_ERROR(wire::ReadProperties(&r, t, true, &w.properties));
    RETURN_IF_ERROR(wire::ReadString(&r, t, "will topic", &w.topic));
    std::string_view payload;
    if (!r.Binary(&payload)) return Malformed(t, "will payload truncated");
    w.payload.assign(payload);
    p.will = std::move(w);
  } else if (will_qos || (flags & 0x20)) {
    return Malformed(t, "will QoS or retain without a will");
  }
  if (flags & 0x80) RETURN_IF_ERROR(wire::ReadString(&r, t, "user name", &p.username.emplace()));
  if (flags & 0x40) {
    std::string_view pw;
    if (!r.Binary(&pw)) return Malformed(t, "password truncated");
    p.password.emplace(pw);
  }
  RETURN_IF_ERROR(ExpectEnd(r, t));
  return Packet(std::move(p));
}

core::StatusOr<Packet> DecodeConnack(Reader r, ProtocolVersion v) {
  constexpr auto t = PacketType::kConnack;
  ConnackPacket p;
  uint8_t flags = 0;
  if (!r.Byte(&flags) || !r.Byte(&p.reason)) return Malformed(t, "truncated");
  if (flags & 0xFE) return Malformed(t, "reserved acknowledge flags set");
  p.session_present = flags & 1;
  if (IsV5(v)) RETURN_IF_ERROR(wire::ReadProperties(&r, t, false, &p.properties));
  RETURN_IF_ERROR(ExpectEnd(r, t));
  return Packet(std::move(p));
}

core::StatusOr<Packet> DecodePublish(uint8_t flags, Reader r, ProtocolVersion v) {
  constexpr auto t = PacketType::kPublish;
  PublishPacket p;
  p.dup = flags & 0x08;
  p.qos = (flags >> 1) & 3;
  p.retain = flags & 1;
  if (p.qos == 3) return Malformed(t, "QoS 3");
  if (p.qos == 0 && p.dup) return Malformed(t, "DUP set on a QoS 0 message");
  RETURN_IF_ERROR(wire::ReadString(&r, t, "topic name", &p.topic));
  if (p.topic.find_first_of("+#") != std::string::npos) {
    return ProtocolError(t, "wildcard in the topic name");
  }
  if (p.qos > 0) RETURN_IF_ERROR(ReadPacketId(&r, t, &p.packet_id));
  if (IsV5(v)) RETURN_IF_ERROR(wire::ReadProperties(&r, t, false, &p.properties));
  if (p.topic.empty() && !p.properties.topic_alias) return ProtocolError(t, "empty topic name");
  p.payload = r.Rest();
  return Packet(std::move(p));
}

core::StatusOr<Packet> DecodeAck(PacketType t, Reader r, ProtocolVersion v) {
  AckPacket p;
  p.type = t;
  RETURN_IF_ERROR(ReadPacketId(&r, t, &p.packet_id));
  if (IsV5(v) && r.left() > 0) {
    if (!r.Byte(&p.reason)) return Malformed(t, "reason code");
    if (r.left() > 0) RETURN_IF_ERROR(wire::ReadProperties(&r, t, false, &p.properties));
  }
  RETURN_IF_ERROR(ExpectEnd(r, t));
  return Packet(std::move(p));
}

core::StatusOr<Packet> DecodeSubscribe(Reader r, ProtocolVersion v) {
  constexpr auto t = PacketType::kSubscribe;
  SubscribePacket p;
  RETURN_IF_ERROR(ReadPacketId(&r, t, &p.packet_id));
  if (IsV5(v)) RETURN_IF_ERROR(wire::ReadProperties(&r, t, false, &p.properties));
  while (r.left() > 0) {
    std::string filter;
    uint8_t options = 0;
    RETURN_IF_ERROR(wire::ReadString(&r, t, "topic filter", &filter));
    if (!r.Byte(&options)) return Malformed(t, "subscription options truncated");
    if ((options & 3) == 3 || (options & (IsV5(v) ? 0xC0 : 0xFC))) {
      return Malformed(t, "subscription options " + std::to_string(options));
    }
    p.filters.emplace_back(std::move(filter), options);
  }
  if (p.filters.empty()) return ProtocolError(t, "no topic filter");
  return Packet(std::move(p));
}

core::StatusOr<Packet> DecodeUnsubscribe(Reader r, ProtocolVersion v) {
  constexpr auto t = PacketType::kUnsubscribe;
  UnsubscribePacket p;
  RETURN_IF_ERROR(ReadPacketId(&r, t, &p.packet_id));
  if (IsV5(v)) RETURN_IF_ERROR(wire::ReadProperties(&r, t, false, &p.properties));
  while (r.left() > 0) RETURN_IF_ERROR(wire::ReadString(&r, t, "topic filter", &p.filters.emplace_back()));
  if (p.filters.empty()) return ProtocolError(t, "no topic filter");
  return Packet(std::move(p));
}

core::StatusOr<Packet> DecodeSuback(PacketType t, Reader r, ProtocolVersion v) {
  SubackPacket p;
  p.type = t;
  RETURN_IF_ERROR(ReadPacketId(&r, t, &p.packet_id));
  if (IsV5(v)) RETURN_IF_ERROR(wire::ReadProperties(&r, t, false, &p.properties));
  std::string_view rest = r.Rest();
  p.reasons.assign(rest.begin(), rest.end());
  const bool needs_reasons = t == PacketType::kSuback || IsV5(v);
  if (needs_reasons && p.reasons.empty()) return ProtocolError(t, "no reason code");
  if (!needs_reasons && !p.reasons.empty()) return Malformed(t, "unexpected bytes at the end");
  return Packet(std::move(p));
}

core::StatusOr<Packet> DecodeDisconnect(Reader r, ProtocolVersion v) {
  constexpr auto t = PacketType::kDisconnect;
  DisconnectPacket p;
  if (IsV5(v) && r.left() > 0) {
    if (!r.Byte(&p.reason)) return Malformed(t, "reason code");
    if (r.left() > 0) RETURN_IF_ERROR(wire::ReadProperties(&r, t, false, &p.properties));
  }
  RETURN_IF_ERROR(ExpectEnd(r, t));
  return Packet(std::move(p));
}

// The fixed header flags each type must carry (PUBLISH's are its own).
uint8_t RequiredFlags(PacketType t) {
  return t == PacketType::kPubrel || t == PacketType::kSubscribe || t == PacketType::kUnsubscribe ? 2 : 0;
}

// Fixed header, then the Remaining Length for `remaining` bytes.
void PutHeader(std::string* out, uint8_t first, size_t remaining) {
  wire::PutByte(out, first);
  wire::PutVarInt(out, static_cast<uint32_t>(remaining));
}

size_t Framed(size_t remaining) { return 1 + wire::VarIntSize(static_cast<uint32_t>(remaining)) + remaining; }

// Properties with their length prefix, v5 only.
size_t PropsSize(const Properties& p, ProtocolVersion v, size_t* inner) {
  if (!IsV5(v)) return 0;
  *inner = wire::PropertiesSize(p);
  return wire::VarIntSize(static_cast<uint32_t>(*inner)) + *inner;
}

}  // namespace

core::StatusOr<Packet> DecodePacket(const Frame& frame, ProtocolVersion v) {
  const PacketType t = frame.type();
  Reader r(frame.body);
  if (t != PacketType::kPublish && frame.flags() != RequiredFlags(t)) {
    return Malformed(t, "fixed header flags " + std::to_string(frame.flags()));
  }
  switch (t) {
    case PacketType::kConnect: return DecodeConnect(r);
    case PacketType::kConnack: return DecodeConnack(r, v);
    case PacketType::kPublish: return DecodePublish(frame.flags(), r, v);
    case PacketType::kPuback:
    case PacketType::kPubrec:
    case PacketType::kPubrel:
    case PacketType::kPubcomp: return DecodeAck(t, r, v);
    case PacketType::kSubscribe: return DecodeSubscribe(r, v);
    case PacketType::kSuback:
    case PacketType::kUnsuback: return DecodeSuback(t, r, v);
    case PacketType::kUnsubscribe: return DecodeUnsubscribe(r, v);
    case PacketType::kPingreq:
    case PacketType::kPingresp:
      RETURN_IF_ERROR(ExpectEnd(r, t));
      return Packet(PingPacket{t});
    case PacketType::kDisconnect: return DecodeDisconnect(r, v);
    case PacketType::kAuth: return ProtocolError(t, "AUTH without an authentication method");
    default: return Malformed(t, "packet type 0");
  }
}

void EncodeConnect(const ConnectPacket& p, std::string* out) {
  const ProtocolVersion v = p.version;
  size_t props = 0, will_props = 0;
  size_t n = 6 + 1 + 1 + 2 + PropsSize(p.properties, v, &props) + 2 + p.client_id.size();
  if (p.will) {
    n += PropsSize(p.will->properties, v, &will_props) + 2 + p.will->topic.size() + 2 + p.will->payload.size();
  }
  if (p.username) n += 2 + p.username->size();
  if (p.password) n += 2 + p.password->size();
  out->reserve(out->size() + Framed(n));
  PutHeader(out, 0x10, n);
  wire::PutBinary(out, "MQTT");
  wire::PutByte(out, static_cast<uint8_t>(v));
  uint8_t flags = p.clean_start ? 0x02 : 0;
  if (p.will) flags |= 0x04 | (p.will->qos << 3) | (p.will->retain ? 0x20 : 0);
  if (p.password) flags |= 0x40;
  if (p.username) flags |= 0x80;
  wire::PutByte(out, flags);
  wire::PutU16(out, p.keep_alive);
  if (IsV5(v)) wire::PutProperties(out, p.properties, props);
  wire::PutBinary(out, p.client_id);
  if (p.will) {
    if (IsV5(v)) wire::PutProperties(out, p.will->properties, will_props);
    wire::PutBinary(out, p.will->topic);
    wire::PutBinary(out, p.will->payload);
  }
  if (p.username) wire::PutBinary(out, *p.username);
  if (p.password) wire::PutBinary(out, *p.password);
}

void EncodeConnack(const ConnackPacket& p, ProtocolVersion v, std::string* out) {
  size_t props = 0;
  size_t n = 2 + PropsSize(p.properties, v, &props);
  PutHeader(out, 0x20, n);
  wire::PutByte(out, p.session_present ? 1 : 0);
  wire::PutByte(out, p.reason);
  if (IsV5(v)) wire::PutProperties(out, p.properties, props);
}

size_t PublishSize(const PublishPacket& p, ProtocolVersion v) {
  size_t props = 0;
  return Framed(2 + p.topic.size() + (p.qos ? 2 : 0) + PropsSize(p.properties, v, &props) + p.payload.size());
}

void EncodePublish(const PublishPacket& p, ProtocolVersion v, std::string* out, size_t* id_offset) {
  size_t props = 0;
  size_t n = 2 + p.topic.size() + (p.qos ? 2 : 0) + PropsSize(p.properties, v, &props) + p.payload.size();
  out->reserve(out->size() + Framed(n));
  PutHeader(out, static_cast<uint8_t>(0x30 | (p.dup ? 0x08 : 0) | (p.qos << 1) | (p.retain ? 1 : 0)), n);
  wire::PutBinary(out, p.topic);
  if (p.qos) {
    if (id_offset) *id_offset = out->size();
    wire::PutU16(out, p.packet_id);
  }
  if (IsV5(v)) wire::PutProperties(out, p.properties, props);
  out->append(p.payload);
}

void EncodeAck(const AckPacket& p, ProtocolVersion v, std::string* out) {
  const uint8_t first = static_cast<uint8_t>((static_cast<uint8_t>(p.type) << 4) | RequiredFlags(p.type));
  const bool has_props = IsV5(v) && (p.properties.reason_string || !p.properties.user_properties.empty());
  size_t props = 0;
  size_t n = 2;
  if (IsV5(v) && (p.reason || has_props)) n += 1 + (has_props ? PropsSize(p.properties, v, &props) : 0);
  PutHeader(out, first, n);
  wire::PutU16(out, p.packet_id);
  if (n > 2) wire::PutByte(out, p.reason);
  if (has_props) wire::PutProperties(out, p.properties, props);
}

void EncodeSubscribe(const SubscribePacket& p, ProtocolVersion v, std::string* out) {
  size_t props = 0;
  size_t n = 2 + PropsSize(p.properties, v, &props);
  for (const auto& [f, o] : p.filters) n += 3 + f.size();
  PutHeader(out, 0x82, n);
  wire::PutU16(out, p.packet_id);
  if (IsV5(v)) wire::PutProperties(out, p.properties, props);
  for (const auto& [f, o] : p.filters) wire::PutBinary(out, f), wire::PutByte(out, o);
}

void EncodeSuback(const SubackPacket& p, ProtocolVersion v, std::string* out) {
  size_t props = 0;
  size_t n = 2 + PropsSize(p.properties, v, &props) + p.reasons.size();
  PutHeader(out, static_cast<uint8_t>(static_cast<uint8_t>(p.type) << 4), n);
  wire::PutU16(out, p.packet_id);
  if (IsV5(v)) wire::PutProperties(out, p.properties, props);
  for (uint8_t r : p.reasons) wire::PutByte(out, r);
}

void EncodeUnsubscribe(const UnsubscribePacket& p, ProtocolVersion v, std::string* out) {
  size_t props = 0;
  size_t n = 2 + PropsSize(p.properties, v, &props);
  for (const auto& f : p.filters) n += 2 + f.size();
  PutHeader(out, 0xA2, n);
  wire::PutU16(out, p.packet_id);
  if (IsV5(v)) wire::PutProperties(out, p.properties, props);
  for (const auto& f : p.filters) wire::PutBinary(out, f);
}

void EncodeDisconnect(const DisconnectPacket& p, ProtocolVersion v, std::string* out) {
  if (!IsV5(v) || (p.reason == 0 && wire::PropertiesSize(p.properties) == 0)) {
    PutHeader(out, 0xE0, 0);
    return;
  }
  size_t props = 0;
  size_t n = 1 + PropsSize(p.properties, v, &props);
  PutHeader(out, 0xE0, n);
  wire::PutByte(out, p.reason);
  wire::PutProperties(out, p.properties, props);
}

void EncodePing(PacketType type, std::string* out) { PutHeader(out, static_cast<uint8_t>(type) << 4, 0); }

void SetPublishDup(std::string* bytes, bool dup) {
  (*bytes)[0] = static_cast<char>(dup ? ((*bytes)[0] | 0x08) : ((*bytes)[0] & ~0x08));
}

void SetPublishId(std::string* bytes, size_t id_offset, uint16_t packet_id) {
  (*bytes)[id_offset] = static_cast<char>(packet_id >> 8);
  (*bytes)[id_offset + 1] = static_cast<char>(packet_id & 0xFF);
}

std::string DowngradePublish(const std::string& bytes, size_t* id_offset, uint8_t qos) {
  const uint8_t first = static_cast<uint8_t>(bytes[0]);
  const uint8_t old_qos = (first >> 1) & 3;
  if (qos >= old_qos) return bytes;
  const uint8_t new_first = static_cast<uint8_t>((first & 0xF1 & (qos == 0 ? ~0x08 : 0xFF)) | (qos << 1));
  if (qos > 0) {
    std::string out = bytes;
    out[0] = static_cast<char>(new_first);
    return out;
  }
  size_t header = 1;
  while (static_cast<uint8_t>(bytes[header]) & 0x80) ++header;
  ++header;
  const size_t remaining = bytes.size() - header - 2;
  std::string out;
  out.reserve(Framed(remaining));
  PutHeader(&out, new_first, remaining);
  out.append(bytes, header, *id_offset - header);
  out.append(bytes, *id_offset + 2, std::string::npos);
  *id_offset = 0;
  return out;
}

}  // namespace infergate::mqtt

// MQTT wire primitives and MQTT 5 properties (see packet_wire.h).
#include <string>

#include "frontends/mqtt/packet_wire.h"

namespace infergate::mqtt {

bool ValidMqttUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    auto c = static_cast<uint8_t>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (int k = 1; k < len; ++k) {
      auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

namespace wire {

bool Reader::Byte(uint8_t* v) {
  if (left() < 1) return false;
  *v = static_cast<uint8_t>(data_[pos_++]);
  return true;
}

bool Reader::U16(uint16_t* v) {
  if (left() < 2) return false;
  *v = static_cast<uint16_t>((static_cast<uint8_t>(data_[pos_]) << 8) | static_cast<uint8_t>(data_[pos_ + 1]));
  pos_ += 2;
  return true;
}

bool Reader::U32(uint32_t* v) {
  if (left() < 4) return false;
  uint32_t x = 0;
  for (int i = 0; i < 4; ++i) x = (x << 8) | static_cast<uint8_t>(data_[pos_ + i]);
  *v = x;
  pos_ += 4;
  return true;
}

bool Reader::VarInt(uint32_t* v) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    uint8_t b;
    if (!Byte(&b)) return false;
    value |= static_cast<uint32_t>(b & 0x7F) << (7 * i);
    if (!(b & 0x80)) {
      *v = value;
      return true;
    }
  }
  return false;  // a fifth byte would be needed
}

bool Reader::Bytes(size_t n, std::string_view* v) {
  if (left() < n) return false;
  *v = data_.substr(pos_, n);
  pos_ += n;
  return true;
}

bool Reader::Binary(std::string_view* v) {
  uint16_t n;
  return U16(&n) && Bytes(n, v);
}

core::Status Malformed(PacketType type, std::string_view what) {
  return core::InvalidArgument("mqtt: malformed " + std::string(PacketTypeName(type)) + ": " +
                               std::string(what));
}

core::Status ProtocolError(PacketType type, std::string_view what) {
  return core::FailedPrecondition("mqtt: protocol error in " + std::string(PacketTypeName(type)) +
                                  ": " + std::string(what));
}

core::Status ReadString(Reader* r, PacketType type, std::string_view field, std::string* out) {
  std::string_view v;
  if (!r->Binary(&v)) return Malformed(type, std::string(field) + " truncated");
  if (!ValidMqttUtf8(v)) return Malformed(type, std::string(field) + " is not valid UTF-8");
  out->assign(v);
  return core::Status::Ok();
}

size_t VarIntSize(uint32_t v) { return v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : 4; }

void PutByte(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }

void PutU16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v & 0xFF));
}

void PutU32(std::string* out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out->push_back(static_cast<char>((v >> s) & 0xFF));
}

void PutVarInt(std::string* out, uint32_t v) {
  do {
    uint8_t b = v & 0x7F;
    v >>= 7;
    if (v) b |= 0x80;
    out->push_back(static_cast<char>(b));
  } while (v);
}

void PutBinary(std::string* out, std::string_view v) {
  PutU16(out, static_cast<uint16_t>(v.size()));
  out->append(v);
}

namespace {

enum class Kind { kByte, kU16, kU32, kVarInt, kString, kBinary, kPair };

// Bits of the packets (1 << type) a property may appear in; bit 0 stands
// for Will Properties.
constexpr uint32_t Bit(PacketType t) { return 1u << static_cast<int>(t); }
constexpr uint32_t kWill = 1u;
constexpr uint32_t kAll = 0xFFFEu | kWill;

struct PropertyInfo {
  uint8_t id;
  Kind kind;
  uint32_t allowed;
  const char* name;
};

constexpr uint32_t kAcks = Bit(PacketType::kPuback) | Bit(PacketType::kPubrec) |
                           Bit(PacketType::kPubrel) | Bit(PacketType::kPubcomp);
constexpr PropertyInfo kProperties[] = {
    {0x01, Kind::kByte, Bit(PacketType::kPublish) | kWill, "Payload Format Indicator"},
    {0x02, Kind::kU32, Bit(PacketType::kPublish) | kWill, "Message Expiry Interval"},
    {0x03, Kind::kString, Bit(PacketType::kPublish) | kWill, "Content Type"},
    {0x08, Kind::kString, Bit(PacketType::kPublish) | kWill, "Response Topic"},
    {0x09, Kind::kBinary, Bit(PacketType::kPublish) | kWill, "Correlation Data"},
    {0x0B, Kind::kVarInt, Bit(PacketType::kPublish) | Bit(PacketType::kSubscribe), "Subscription Identifier"},
    {0x11, Kind::kU32, Bit(PacketType::kConnect) | Bit(PacketType::kConnack) | Bit(PacketType::kDisconnect),
     "Session Expiry Interval"},
    {0x12, Kind::kString, Bit(PacketType::kConnack), "Assigned Client Identifier"},
    {0x13, Kind::kU16, Bit(PacketType::kConnack), "Server Keep Alive"},
    {0x15, Kind::kString, Bit(PacketType::kConnect) | Bit(PacketType::kConnack) | Bit(PacketType::kAuth),
     "Authentication Method"},
    {0x16, Kind::kBinary, Bit(PacketType::kConnect) | Bit(PacketType::kConnack) | Bit(PacketType::kAuth),
     "Authentication Data"},
    {0x17, Kind::kByte, Bit(PacketType::kConnect), "Request Problem Information"},
    {0x18, Kind::kU32, kWill, "Will Delay Interval"},
    {0x19, Kind::kByte, Bit(PacketType::kConnect), "Request Response Information"},
    {0x1A, Kind::kString, Bit(PacketType::kConnack), "Response Information"},
    {0x1C, Kind::kString, Bit(PacketType::kConnack) | Bit(PacketType::kDisconnect), "Server Reference"},
    {0x1F, Kind::kString,
     Bit(PacketType::kConnack) | kAcks | Bit(PacketType::kSuback) | Bit(PacketType::kUnsuback) |
         Bit(PacketType::kDisconnect) | Bit(PacketType::kAuth),
     "Reason String"},
    {0x21, Kind::kU16, Bit(PacketType::kConnect) | Bit(PacketType::kConnack), "Receive Maximum"},
    {0x22, Kind::kU16, Bit(PacketType::kConnect) | Bit(PacketType::kConnack), "Topic Alias Maximum"},
    {0x23, Kind::kU16, Bit(PacketType::kPublish), "Topic Alias"},
    {0x24, Kind::kByte, Bit(PacketType::kConnack), "Maximum QoS"},
    {0x25, Kind::kByte, Bit(PacketType::kConnack), "Retain Available"},
    {0x26, Kind::kPair, kAll, "User Property"},
    {0x27, Kind::kU32, Bit(PacketType::kConnect) | Bit(PacketType::kConnack), "Maximum Packet Size"},
    {0x28, Kind::kByte, Bit(PacketType::kConnack), "Wildcard Subscription Available"},
    {0x29, Kind::kByte, Bit(PacketType::kConnack), "Subscription Identifier Available"},
    {0x2A, Kind::kByte, Bit(PacketType::kConnack), "Shared Subscription Available"},
};

const PropertyInfo* FindProperty(uint32_t id) {
  for (const auto& p : kProperties) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

// One property's value, read by its kind.
struct Value {
  uint32_t number = 0;
  std::string text;
  std::string second;  // a User Property's value
};

core::Status ReadValue(Reader* r, PacketType ctx, const PropertyInfo& info, Value* v) {
  const std::string name = info.name;
  bool ok = true;
  switch (info.kind) {
    case Kind::kByte: {
      uint8_t b = 0;
      ok = r->Byte(&b);
      v->number = b;
      break;
    }
    case Kind::kU16: {
      uint16_t s = 0;
      ok = r->U16(&s);
      v->number = s;
      break;
    }
    case Kind::kU32: ok = r->U32(&v->number); break;
    case Kind::kVarInt: ok = r->VarInt(&v->number); break;
    case Kind::kString: return ReadString(r, ctx, name, &v->text);
    case Kind::kBinary: {
      std::string_view b;
      ok = r->Binary(&b);
      v->text.assign(b);
      break;
    }
    case Kind::kPair:
      RETURN_IF_ERROR(ReadString(r, ctx, name + " name", &v->text));
      return ReadString(r, ctx, name + " value", &v->second);
  }
  return ok ? core::Status::Ok() : Malformed(ctx, name + " truncated");
}

// Range rules of the spec for the properties whose values are bounded.
core::Status CheckRange(PacketType ctx, const PropertyInfo& info, uint32_t v) {
  switch (info.id) {
    case 0x01: case 0x17: case 0x19: case 0x24: case 0x25: case 0x28: case 0x29: case 0x2A:
      if (v > 1) return ProtocolError(ctx, std::string(info.name) + " is " + std::to_string(v));
      break;
    case 0x0B: case 0x21: case 0x23: case 0x27:
      if (v == 0) return ProtocolError(ctx, std::string(info.name) + " is 0");
      break;
    default: break;
  }
  return core::Status::Ok();
}

void Store(uint8_t id, Value v, Properties* out) {
  switch (id) {
    case 0x01: out->payload_format = static_cast<uint8_t>(v.number); break;
    case 0x02: out->message_expiry = v.number; break;
    case 0x03: out->content_type = std::move(v.text); break;
    case 0x08: out->response_topic = std::move(v.text); break;
    case 0x09: out->correlation_data = std::move(v.text); break;
    case 0x0B: out->subscription_ids.push_back(v.number); break;
    case 0x11: out->session_expiry = v.number; break;
    case 0x12: out->assigned_client_id = std::move(v.text); break;
    case 0x13: out->server_keep_alive = static_cast<uint16_t>(v.number); break;
    case 0x1F: out->reason_string = std::move(v.text); break;
    case 0x21: out->receive_maximum = static_cast<uint16_t>(v.number); break;
    case 0x22: out->topic_alias_maximum = static_cast<uint16_t>(v.number); break;
    case 0x23: out->topic_alias = static_cast<uint16_t>(v.number); break;
    case 0x24: out->maximum_qos = static_cast<uint8_t>(v.number); break;
    case 0x25: out->retain_available = static_cast<uint8_t>(v.number); break;
    case 0x26: out->user_properties.emplace_back(std::move(v.text), std::move(v.second)); break;
    case 0x27: out->maximum_packet_size = v.number; break;
    default: break;  // checked and skipped: the client does not use it
  }
}

}  // namespace

core::Status ReadProperties(Reader* r, PacketType ctx, bool will, Properties* out) {
  uint32_t len = 0;
  if (!r->VarInt(&len)) return Malformed(ctx, "property length");
  std::string_view block;
  if (!r->Bytes(len, &block)) return Malformed(ctx, "properties truncated");
  Reader pr(block);
  uint64_t seen = 0;  // bit per identifier (all are < 64)
  const uint32_t where = will ? kWill : Bit(ctx);
  while (pr.left() > 0) {
    uint32_t id = 0;
    if (!pr.VarInt(&id)) return Malformed(ctx, "property identifier");
    const PropertyInfo* info = FindProperty(id);
    if (!info) return Malformed(ctx, "unknown property 0x" + std::to_string(id));
    if (!(info->allowed & where)) {
      return ProtocolError(ctx, std::string(info->name) + " is not allowed here");
    }
    const bool repeatable = id == 0x26 || id == 0x0B;
    if (!repeatable && (seen & (uint64_t{1} << id))) {
      return ProtocolError(ctx, std::string(info->name) + " appears twice");
    }
    seen |= uint64_t{1} << id;
    Value v;
    RETURN_IF_ERROR(ReadValue(&pr, ctx, *info, &v));
    RETURN_IF_ERROR(CheckRange(ctx, *info, v.number));
    Store(static_cast<uint8_t>(id), std::move(v), out);
  }
  return core::Status::Ok();
}

size_t PropertiesSize(const Properties& p) {
  size_t n = 0;
  if (p.payload_format) n += 2;
  if (p.message_expiry) n += 5;
  if (p.content_type) n += 3 + p.content_type->size();
  if (p.response_topic) n += 3 + p.response_topic->size();
  if (p.correlation_data) n += 3 + p.correlation_data->size();
  for (uint32_t id : p.subscription_ids) n += 1 + VarIntSize(id);
  if (p.session_expiry) n += 5;
  if (p.assigned_client_id) n += 3 + p.assigned_client_id->size();
  if (p.server_keep_alive) n += 3;
  if (p.reason_string) n += 3 + p.reason_string->size();
  if (p.receive_maximum) n += 3;
  if (p.topic_alias_maximum) n += 3;
  if (p.topic_alias) n += 3;
  if (p.maximum_qos) n += 2;
  if (p.retain_available) n += 2;
  for (const auto& [k, v] : p.user_properties) n += 5 + k.size() + v.size();
  if (p.maximum_packet_size) n += 5;
  return n;
}

void PutProperties(std::string* out, const Properties& p, size_t size) {
  PutVarInt(out, static_cast<uint32_t>(size));
  auto str = [out](uint8_t id, const std::optional<std::string>& s) {
    if (s) PutByte(out, id), PutBinary(out, *s);
  };
  auto u8 = [out](uint8_t id, const std::optional<uint8_t>& v) {
    if (v) PutByte(out, id), PutByte(out, *v);
  };
  auto u16 = [out](uint8_t id, const std::optional<uint16_t>& v) {
    if (v) PutByte(out, id), PutU16(out, *v);
  };
  auto u32 = [out](uint8_t id, const std::optional<uint32_t>& v) {
    if (v) PutByte(out, id), PutU32(out, *v);
  };
  u8(0x01, p.payload_format);
  u32(0x02, p.message_expiry);
  str(0x03, p.content_type);
  str(0x08, p.response_topic);
  str(0x09, p.correlation_data);
  for (uint32_t id : p.subscription_ids) PutByte(out, 0x0B), PutVarInt(out, id);
  u32(0x11, p.session_expiry);
  str(0x12, p.assigned_client_id);
  u16(0x13, p.server_keep_alive);
  str(0x1F, p.reason_string);
  u16(0x21, p.receive_maximum);
  u16(0x22, p.topic_alias_maximum);
  u16(0x23, p.topic_alias);
  u8(0x24, p.maximum_qos);
  u8(0x25, p.retain_available);
  for (const auto& [k, v] : p.user_properties) PutByte(out, 0x26), PutBinary(out, k), PutBinary(out, v);
  u32(0x27, p.maximum_packet_size);
}

}  // namespace wire
}  // namespace infergate::mqtt

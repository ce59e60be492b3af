// The primitive types of the MQTT wire format (packet.cc and
// packet_properties.cc): a bounds-checked reader and the writers.
// Internal to src/frontends/mqtt.
//
// Thread-safety: a Reader is used by one thread; the writers are pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "frontends/mqtt/packet.h"

namespace infergate::mqtt::wire {

// Reads from a byte range; every read checks the bytes are there.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  size_t left() const { return data_.size() - pos_; }
  bool Byte(uint8_t* v);
  bool U16(uint16_t* v);
  bool U32(uint32_t* v);
  bool VarInt(uint32_t* v);  // at most 4 bytes
  bool Binary(std::string_view* v);  // 2-byte length + bytes
  bool Bytes(size_t n, std::string_view* v);
  std::string_view Rest() {
    std::string_view r = data_.substr(pos_);
    pos_ = data_.size();
    return r;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// Errors: INVALID_ARGUMENT (malformed), FAILED_PRECONDITION (protocol error).
core::Status Malformed(PacketType type, std::string_view what);
core::Status ProtocolError(PacketType type, std::string_view what);

// Reads a UTF-8 string (2-byte length) and checks it.
core::Status ReadString(Reader* r, PacketType type, std::string_view field, std::string* out);

size_t VarIntSize(uint32_t v);
void PutByte(std::string* out, uint8_t v);
void PutU16(std::string* out, uint16_t v);
void PutU32(std::string* out, uint32_t v);
void PutVarInt(std::string* out, uint32_t v);
void PutBinary(std::string* out, std::string_view v);  // 2-byte length + bytes

// MQTT 5 properties: their encoded size without the length prefix, the
// encoding with it, and decoding (length prefix included) for `context`
// (a packet type, or kConnect with `will` for Will Properties).
size_t PropertiesSize(const Properties& p);
void PutProperties(std::string* out, const Properties& p, size_t size);
core::Status ReadProperties(Reader* r, PacketType context, bool will, Properties* out);

}  // namespace infergate::mqtt::wire

// The byte layout of the records the journals hold (the MQTT inbox's
// requests, the outbox's messages): little-endian integers and strings as
// u32 length + bytes. RecordReader checks every length, so a damaged record
// is an error naming what is wrong, never a crash.
//
// Thread-safety: pure functions; a RecordReader belongs to one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace infergate::core {

template <typename T>
void PutLittleEndian(std::string* out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) {
    out->push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
  }
}

inline void PutLengthPrefixed(std::string* out, std::string_view s) {
  PutLittleEndian<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// Reads from the front of a record; errors say "<record> truncated in its <what>".
class RecordReader {
 public:
  RecordReader(std::string_view bytes, std::string_view record) : rest_(bytes), record_(record) {}

  template <typename T>
  Status Int(std::string_view what, T* out) {
    if (rest_.size() < sizeof(T)) return Truncated(what);
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      v |= static_cast<uint64_t>(static_cast<uint8_t>(rest_[i])) << (8 * i);
    }
    *out = static_cast<T>(v);
    rest_.remove_prefix(sizeof(T));
    return Status::Ok();
  }
  Status String(std::string_view what, std::string* out) {
    uint32_t n = 0;
    RETURN_IF_ERROR(Int(what, &n));
    if (rest_.size() < n) return Truncated(what);
    out->assign(rest_.data(), n);
    rest_.remove_prefix(n);
    return Status::Ok();
  }
  Status Truncated(std::string_view what) const {
    return Internal(std::string(record_) + " truncated in its " + std::string(what));
  }
  std::string_view rest() const { return rest_; }

 private:
  std::string_view rest_;
  std::string_view record_;
};

}  // namespace infergate::core

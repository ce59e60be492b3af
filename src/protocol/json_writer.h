// JsonWriter: appends JSON text to a string as it is told, without building a
// document. Used for every JSON reply (inference responses, metadata, errors).
//
// Numbers: integers exactly; floating point in the shortest form that reads
// back to the same value (std::to_chars), so an FP32 value is written as
// 0.1, not 0.10000000149011612. JSON has no NaN or infinity: they are written
// as the bare tokens NaN, Infinity and -Infinity, as Python's json module (the
// most common v2 client) writes and reads them.
// Strings: '"', '\\' and control characters are escaped; each ill-formed
// UTF-8 sequence (stray continuation bytes, a truncated sequence, overlong
// forms, encoded surrogates, code points past U+10FFFF) becomes U+FFFD, so
// the output is valid JSON whatever bytes a client sent; well-formed UTF-8 is
// copied as it is.
//
// The writer does not check that calls nest correctly; it inserts the commas.
// Thread-safety: one writer per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace infergate::protocol {

class JsonWriter {
 public:
  // `out` is not owned and must outlive the writer; text is appended to it.
  explicit JsonWriter(std::string* out) : out_(out) {}

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }
  // An object key; the next call writes its value.
  void Key(std::string_view key);

  void String(std::string_view value);
  void Bool(bool value);
  void Null();
  void Int(int64_t value);
  void Uint(uint64_t value);
  void Double(double value);
  void Float(float value);

  // Shorthands for a key and its value.
  void Member(std::string_view key, std::string_view value) { Key(key); String(value); }
  void Member(std::string_view key, const char* value) { Key(key); String(value); }
  void Member(std::string_view key, int64_t value) { Key(key); Int(value); }
  void Member(std::string_view key, bool value) { Key(key); Bool(value); }

  std::string* out() const { return out_; }

 private:
  void Separate() {
    if (need_comma_) out_->push_back(',');
    need_comma_ = true;
  }
  void Open(char c) {
    Separate();
    out_->push_back(c);
    need_comma_ = false;
  }
  void Close(char c) {
    out_->push_back(c);
    need_comma_ = true;
  }
  void AppendEscaped(std::string_view s);

  std::string* out_;
  bool need_comma_ = false;
};

}  // namespace infergate::protocol

#include "protocol/json_writer.h"

#include <charconv>
#include <cmath>

namespace infergate::protocol {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// The length of the well-formed UTF-8 sequence that starts at s[i] (a byte
// >= 0x80), or 0 when it is ill-formed; then *skip is the length of its
// maximal subpart (at least 1), which is replaced by one U+FFFD as Unicode
// recommends (3.9, "U+FFFD Substitution of Maximal Subparts"). The ranges
// are those of RFC 3629: no overlong forms, no surrogates, nothing past
// U+10FFFF.
size_t Utf8Length(std::string_view s, size_t i, size_t* skip) {
  const auto lead = static_cast<unsigned char>(s[i]);
  size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong below U+0800
    if (lead == 0xED) high = 0x9F;  // surrogates U+D800..U+DFFF
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong below U+10000
    if (lead == 0xF4) high = 0x8F;  // past U+10FFFF
  }
  *skip = 1;
  if (length == 0) return 0;  // a continuation byte, C0, C1 or F5..FF
  for (size_t k = 1; k < length; ++k) {
    if (i + k >= s.size()) return 0;
    const auto c = static_cast<unsigned char>(s[i + k]);
    if (c < (k == 1 ? low : 0x80) || c > (k == 1 ? high : 0xBF)) return 0;
    *skip = k + 1;
  }
  return length;
}

template <typename T>
void AppendNumber(std::string* out, T value) {
  char buf[32];
  auto result = std::to_chars(buf, buf + sizeof(buf), value);
  out->append(buf, result.ptr);
}

template <typename T>
void AppendFloating(std::string* out, T value) {
  if (std::isnan(value)) {
    out->append("NaN");
  } else if (std::isinf(value)) {
    out->append(value < 0 ? "-Infinity" : "Infinity");
  } else {
    AppendNumber(out, value);
  }
}

}  // namespace

void JsonWriter::Key(std::string_view key) {
  Separate();
  AppendEscaped(key);
  out_->push_back(':');
  need_comma_ = false;
}

void JsonWriter::String(std::string_view value) {
  Separate();
  AppendEscaped(value);
}

void JsonWriter::Bool(bool value) {
  Separate();
  out_->append(value ? "true" : "false");
}

void JsonWriter::Null() {
  Separate();
  out_->append("null");
}

void JsonWriter::Int(int64_t value) {
  Separate();
  AppendNumber(out_, value);
}

void JsonWriter::Uint(uint64_t value) {
  Separate();
  AppendNumber(out_, value);
}

void JsonWriter::Double(double value) {
  Separate();
  AppendFloating(out_, value);
}

void JsonWriter::Float(float value) {
  Separate();
  AppendFloating(out_, value);
}

void JsonWriter::AppendEscaped(std::string_view s) {
  out_->push_back('"');
  size_t run = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t skip = 0;
      if (const size_t length = Utf8Length(s, i, &skip)) {
        i += length - 1;
        continue;
      }
      out_->append(s.data() + run, i - run);
      out_->append(kReplacement);
      i += skip - 1;
      run = i + 1;
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out_->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out_->append("\\\""); break;
      case '\\': out_->append("\\\\"); break;
      case '\n': out_->append("\\n"); break;
      case '\r': out_->append("\\r"); break;
      case '\t': out_->append("\\t"); break;
      default: {
        const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out_->append(esc, sizeof(esc));
      }
    }
  }
  out_->append(s.data() + run, s.size() - run);
  out_->push_back('"');
}

}  // namespace infergate::protocol

#include "protocol/json_writer.h"

#include <charconv>
#include <cmath>

namespace infergate::protocol {
namespace {

constexpr char kHex[] = "0123456789abcdef";

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

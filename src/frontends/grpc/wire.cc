#include "frontends/grpc/wire.h"

#include <google/protobuf/message_lite.h>

namespace infergate::grpc_frontend {

std::optional<std::chrono::nanoseconds> ParseTimeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  int64_t amount = 0;
  for (char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    amount = amount * 10 + (c - '0');
  }
  int64_t unit_ns = 0;
  switch (value.back()) {
    case 'H': unit_ns = 3600'000'000'000; break;
    case 'M': unit_ns = 60'000'000'000; break;
    case 'S': unit_ns = 1'000'000'000; break;
    case 'm': unit_ns = 1'000'000; break;
    case 'u': unit_ns = 1'000; break;
    case 'n': unit_ns = 1; break;
    default: return std::nullopt;
  }
  // 99999999 hours does not fit in nanoseconds; such a timeout means "none
  // to speak of", so it is capped at about 30 years.
  constexpr int64_t kMaxNs = 1'000'000'000'000'000'000;
  if (amount > kMaxNs / unit_ns) return std::chrono::nanoseconds(kMaxNs);
  return std::chrono::nanoseconds(amount * unit_ns);
}

std::string PercentEncode(std::string_view message) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(message.size());
  for (unsigned char c : message) {
    if (c >= 0x20 && c <= 0x7e && c != '%') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

core::Status AppendMessage(const google::protobuf::MessageLite& message, int64_t max_bytes, std::string* out) {
  const size_t size = message.ByteSizeLong();
  if (static_cast<int64_t>(size) > max_bytes) {
    return core::ResourceExhausted("the response is " + std::to_string(size) +
                                   " bytes, more than the limit of " + std::to_string(max_bytes));
  }
  const size_t start = out->size();
  out->resize(start + kMessagePrefixBytes + size);
  auto* p = reinterpret_cast<uint8_t*>(out->data() + start);
  p[0] = 0;  // not compressed
  p[1] = static_cast<uint8_t>(size >> 24);
  p[2] = static_cast<uint8_t>(size >> 16);
  p[3] = static_cast<uint8_t>(size >> 8);
  p[4] = static_cast<uint8_t>(size);
  if (!message.SerializeWithCachedSizesToArray(p + kMessagePrefixBytes) && size > 0) {
    out->resize(start);
    return core::Internal("cannot serialize the response");
  }
  return core::Status::Ok();
}

void MessageReader::Append(const uint8_t* data, size_t size) {
  buffer_.append(reinterpret_cast<const char*>(data), size);
  if (buffer_.size() - consumed_ < kMessagePrefixBytes) return;
  const auto* p = reinterpret_cast<const uint8_t*>(buffer_.data() + consumed_);
  const uint64_t length = (uint64_t{p[1]} << 24) | (uint64_t{p[2]} << 16) | (uint64_t{p[3]} << 8) | p[4];
  if (length <= static_cast<uint64_t>(max_)) buffer_.reserve(consumed_ + kMessagePrefixBytes + length);
}

core::StatusOr<bool> MessageReader::Next(std::string* message) {
  const size_t available = buffer_.size() - consumed_;
  if (available < kMessagePrefixBytes) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(buffer_.data() + consumed_);
  if (p[0] != 0) {
    return core::Unimplemented("compressed messages are not supported; send them uncompressed (identity)");
  }
  const uint64_t size = (uint64_t{p[1]} << 24) | (uint64_t{p[2]} << 16) | (uint64_t{p[3]} << 8) | p[4];
  if (size > static_cast<uint64_t>(max_)) {
    return core::ResourceExhausted("received a message of " + std::to_string(size) +
                                   " bytes, more than the limit of " + std::to_string(max_));
  }
  if (available < kMessagePrefixBytes + size) return false;
  message->assign(buffer_, consumed_ + kMessagePrefixBytes, size);
  consumed_ += kMessagePrefixBytes + size;
  if (consumed_ == buffer_.size()) {
    // A large message's room is given back rather than kept for the stream.
    if (buffer_.capacity() > (1u << 20)) {
      std::string().swap(buffer_);
    } else {
      buffer_.clear();
    }
    consumed_ = 0;
  } else if (consumed_ > (64u << 10) && consumed_ * 2 > buffer_.size()) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  return true;
}

}  // namespace infergate::grpc_frontend

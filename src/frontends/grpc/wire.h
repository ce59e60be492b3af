// The gRPC wire format over HTTP/2, as plain functions (no socket, no
// HTTP/2 library): length-prefixed messages, the grpc-timeout header and the
// percent-encoded grpc-message trailer. Follows gRPC's "PROTOCOL-HTTP2"
// document.
//
// Thread-safety: pure functions; a MessageReader belongs to one stream.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace google::protobuf {
class MessageLite;
}

namespace infergate::grpc_frontend {

// Bytes before each message: a compressed flag and a big-endian length.
inline constexpr size_t kMessagePrefixBytes = 5;

// The value of a grpc-timeout header ("<1-8 digits><H|M|S|m|u|n>"); nullopt
// when malformed.
std::optional<std::chrono::nanoseconds> ParseTimeout(std::string_view value);

// The grpc-message trailer value for a status message: bytes outside
// printable ASCII and '%' as %XX (the protocol's percent-encoding).
std::string PercentEncode(std::string_view message);

// Appends `message`, serialized and length-prefixed (uncompressed), to `out`.
// INTERNAL when it cannot be serialized, RESOURCE_EXHAUSTED when it is larger
// than `max_bytes`.
core::Status AppendMessage(const google::protobuf::MessageLite& message, int64_t max_bytes, std::string* out);

// Splits a stream's DATA bytes into messages. Refuses a message longer than
// the limit as soon as its prefix says so (RESOURCE_EXHAUSTED) and compressed
// messages (UNIMPLEMENTED: the server accepts identity only).
class MessageReader {
 public:
  explicit MessageReader(int64_t max_message_bytes) : max_(max_message_bytes) {}

  // Appends DATA bytes. Once a message's prefix is in, room for exactly the
  // whole message is reserved (not the doubling of a growing string).
  void Append(const uint8_t* data, size_t size);

  // Moves the next whole message into `message` and returns true; false when
  // none is complete yet. A non-OK status is final for the stream.
  core::StatusOr<bool> Next(std::string* message);

  // True when bytes of an incomplete message are buffered (the stream ended
  // mid-message if the client is done).
  bool HasPartial() const { return buffer_.size() > consumed_; }
  // Bytes received and not yet returned by Next.
  size_t buffered() const { return buffer_.size() - consumed_; }
  // Drops what is buffered and its memory (the stream is done).
  void Clear() {
    std::string().swap(buffer_);
    consumed_ = 0;
  }

 private:
  int64_t max_;
  std::string buffer_;
  size_t consumed_ = 0;  // bytes of buffer_ already returned
};

}  // namespace infergate::grpc_frontend

#include "core/status_map.h"

namespace infergate::core {

TransportCodes TransportCodesFor(StatusCode code) {
  // HTTP as KServe/Triton clients expect; gRPC's own numbering; MQTT 5 reason
  // codes (0x80 unspecified, 0x83 implementation specific, 0x97 quota
  // exceeded, 0x99 payload format invalid, 0x95 packet too large, 0x87 not authorized).
  switch (code) {
    case StatusCode::kOk: return {200, 0, 0x00};
    case StatusCode::kInvalidArgument: return {400, 3, 0x99};
    case StatusCode::kNotFound: return {404, 5, 0x83};
    case StatusCode::kAlreadyExists: return {409, 6, 0x83};
    case StatusCode::kFailedPrecondition: return {400, 9, 0x83};
    case StatusCode::kUnavailable: return {503, 14, 0x97};
    case StatusCode::kResourceExhausted: return {413, 8, 0x95};
    case StatusCode::kDeadlineExceeded: return {504, 4, 0x83};
    case StatusCode::kCancelled: return {499, 1, 0x80};
    case StatusCode::kUnimplemented: return {501, 12, 0x83};
    case StatusCode::kInternal: return {500, 13, 0x80};
    case StatusCode::kUnauthenticated: return {401, 16, 0x87};
    case StatusCode::kPermissionDenied: return {403, 7, 0x87};
  }
  return {500, 2, 0x80};
}

std::string ClipReplyMessage(std::string_view message, size_t max_bytes) {
  if (message.size() <= max_bytes) return std::string(message);
  size_t keep = max_bytes - 3;
  // Back up over UTF-8 continuation bytes (10xxxxxx) to a character's start.
  while (keep > 0 && (static_cast<unsigned char>(message[keep]) & 0xc0) == 0x80) --keep;
  return std::string(message.substr(0, keep)) + "...";
}

}  // namespace infergate::core

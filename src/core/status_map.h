// The one table that maps a Status code to each transport's reply code, so
// HTTP, gRPC and MQTT frontends refuse the same error the same way.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace infergate::core {

struct TransportCodes {
  int http_status;       // e.g. 404
  int grpc_code;         // grpc::StatusCode value, e.g. 5 (NOT_FOUND)
  int mqtt_reason_code;  // MQTT 5 reason code sent with an error reply, e.g. 0x99
};

TransportCodes TransportCodesFor(StatusCode code);

inline int HttpStatusFor(StatusCode code) { return TransportCodesFor(code).http_status; }
inline int GrpcCodeFor(StatusCode code) { return TransportCodesFor(code).grpc_code; }
inline int MqttReasonCodeFor(StatusCode code) { return TransportCodesFor(code).mqtt_reason_code; }

// The longest error message a reply carries, bytes. Messages quote what the
// client sent (a model name, an input name); a gRPC trailer larger than the
// client's header list limit (16 KiB in gRPC's client) is dropped with the
// whole reply, so every transport clips the message before sending it.
inline constexpr size_t kMaxReplyMessageBytes = 1024;

// `message` cut to at most `max_bytes` bytes (max_bytes >= 3), on a UTF-8
// character boundary, ending in "..." when it was cut.
std::string ClipReplyMessage(std::string_view message, size_t max_bytes = kMaxReplyMessageBytes);

}  // namespace infergate::core

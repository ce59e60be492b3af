// The one table that maps a Status code to each transport's reply code, so
// HTTP, gRPC and MQTT frontends refuse the same error the same way.
//
// Thread-safety: pure functions.
#pragma once

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

}  // namespace infergate::core

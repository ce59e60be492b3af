// The remote's errors as core::Status: gRPC status codes and HTTP status
// codes mapped to core codes (the remote's code is kept where core has it),
// and the message a client sees, which names the remote.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace infergate::remote {

// gRPC's numeric code (grpc::StatusCode) -> core. Codes core lacks
// (ABORTED, OUT_OF_RANGE, DATA_LOSS, UNKNOWN) become INTERNAL, except
// OUT_OF_RANGE (INVALID_ARGUMENT) and ABORTED (UNAVAILABLE: retry later).
core::StatusCode FromGrpcCode(int code);

// An HTTP error status -> core, as the v2 REST servers send them: 400
// INVALID_ARGUMENT, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404
// NOT_FOUND, 408/504 DEADLINE_EXCEEDED, 409 ALREADY_EXISTS, 412
// FAILED_PRECONDITION, 413/429 RESOURCE_EXHAUSTED, 501 UNIMPLEMENTED,
// 502/503 UNAVAILABLE, other 4xx INVALID_ARGUMENT, other 5xx INTERNAL.
core::StatusCode FromHttpStatus(int status);

// `status` with "remote <url> model '<model>': " in front of its message,
// the code kept.
core::Status NameRemote(const core::Status& status, std::string_view url, std::string_view model);

}  // namespace infergate::remote

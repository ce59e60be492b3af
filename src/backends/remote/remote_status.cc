#include "backends/remote/remote_status.h"

namespace infergate::remote {

using core::StatusCode;

StatusCode FromGrpcCode(int code) {
  // The numbering of grpc::StatusCode (grpc/impl/codegen/status_code_enum.h).
  switch (code) {
    case 0: return StatusCode::kOk;
    case 1: return StatusCode::kCancelled;
    case 3: return StatusCode::kInvalidArgument;
    case 4: return StatusCode::kDeadlineExceeded;
    case 5: return StatusCode::kNotFound;
    case 6: return StatusCode::kAlreadyExists;
    case 7: return StatusCode::kPermissionDenied;
    case 8: return StatusCode::kResourceExhausted;
    case 9: return StatusCode::kFailedPrecondition;
    case 10: return StatusCode::kUnavailable;  // ABORTED: worth a retry
    case 11: return StatusCode::kInvalidArgument;  // OUT_OF_RANGE
    case 12: return StatusCode::kUnimplemented;
    case 14: return StatusCode::kUnavailable;
    case 16: return StatusCode::kUnauthenticated;
    default: return StatusCode::kInternal;  // UNKNOWN, INTERNAL, DATA_LOSS, anything new
  }
}

StatusCode FromHttpStatus(int status) {
  switch (status) {
    case 400: return StatusCode::kInvalidArgument;
    case 401: return StatusCode::kUnauthenticated;
    case 403: return StatusCode::kPermissionDenied;
    case 404: return StatusCode::kNotFound;
    case 408:
    case 504: return StatusCode::kDeadlineExceeded;
    case 409: return StatusCode::kAlreadyExists;
    case 412: return StatusCode::kFailedPrecondition;
    case 413:
    case 429: return StatusCode::kResourceExhausted;
    case 501: return StatusCode::kUnimplemented;
    case 502:
    case 503: return StatusCode::kUnavailable;
    default: break;
  }
  if (status >= 200 && status < 300) return StatusCode::kOk;
  return status >= 400 && status < 500 ? StatusCode::kInvalidArgument : StatusCode::kInternal;
}

core::Status NameRemote(const core::Status& status, std::string_view url, std::string_view model) {
  if (status.ok()) return status;
  return core::Status(status.code(), "remote " + std::string(url) + " model '" + std::string(model) +
                                         "': " + std::string(status.message()));
}

}  // namespace infergate::remote

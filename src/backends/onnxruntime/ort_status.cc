#include "backends/onnxruntime/ort_status.h"

#include <exception>
#include <new>
#include <string>

namespace infergate::ort {
namespace {

core::StatusCode CodeFor(OrtErrorCode code, std::string_view message, OrtPhase phase) {
  // ORT reports a failed allocation as ORT_FAIL; only the text tells.
  if (message.find("bad_alloc") != std::string_view::npos ||
      message.find("Failed to allocate memory") != std::string_view::npos) {
    return core::StatusCode::kResourceExhausted;
  }
  switch (code) {
    case ORT_NO_SUCHFILE:
      return core::StatusCode::kNotFound;
    case ORT_NOT_IMPLEMENTED:
      return core::StatusCode::kUnimplemented;
    case ORT_INVALID_ARGUMENT:
    case ORT_INVALID_PROTOBUF:
    case ORT_INVALID_GRAPH:
    case ORT_NO_MODEL:
      return core::StatusCode::kInvalidArgument;
    case ORT_FAIL:
      // At load ORT_FAIL is mostly a file ORT refuses (bad initializer
      // sizes, a missing external data file).
      return phase == OrtPhase::kLoad ? core::StatusCode::kInvalidArgument
                                      : core::StatusCode::kInternal;
    default:
      return core::StatusCode::kInternal;
  }
}

}  // namespace

core::Status StatusFromOrtError(OrtErrorCode code, std::string_view message,
                                std::string_view context, OrtPhase phase) {
  std::string text(context);
  text += ": ";
  text += message;
  return core::Status(CodeFor(code, message, phase), std::move(text));
}

core::Status StatusFromCurrentException(std::string_view context, OrtPhase phase) {
  try {
    throw;
  } catch (const Ort::Exception& e) {
    return StatusFromOrtError(e.GetOrtErrorCode(), e.what(), context, phase);
  } catch (const std::bad_alloc&) {
    return core::ResourceExhausted(std::string(context) + ": out of memory");
  } catch (const std::exception& e) {
    return core::Internal(std::string(context) + ": " + e.what());
  } catch (...) {
    return core::Internal(std::string(context) + ": unknown exception");
  }
}

}  // namespace infergate::ort

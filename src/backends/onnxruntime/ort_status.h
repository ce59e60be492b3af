// Turns ONNX Runtime's exceptions into core::Status. Internal to the backend.
//
// The ORT C++ API reports every error as an Ort::Exception; infergate lets
// no exception leave a module, so every call into ORT in this folder runs
// inside CallGuarded (or a try block ending in StatusFromCurrentException).
#pragma once

#include <onnxruntime_cxx_api.h>

#include <string_view>

#include "core/status.h"

namespace infergate::ort {

// Where an error happened: the same ORT code means a bad file at load time
// and a bug or an engine failure at run time.
enum class OrtPhase { kLoad, kRun };

// "<context>: <message>" with the status code for ORT's error code.
core::Status StatusFromOrtError(OrtErrorCode code, std::string_view message,
                                std::string_view context, OrtPhase phase);

// Converts the exception being handled. Call only inside a catch block.
core::Status StatusFromCurrentException(std::string_view context, OrtPhase phase);

// Runs `fn` (returning core::Status) and converts anything it throws.
template <typename Fn>
core::Status CallGuarded(std::string_view context, OrtPhase phase, Fn&& fn) noexcept {
  try {
    return fn();
  } catch (...) {
    return StatusFromCurrentException(context, phase);
  }
}

}  // namespace infergate::ort

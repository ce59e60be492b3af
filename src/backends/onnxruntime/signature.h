// Reads a loaded session's signature into core::ModelSignature. Internal to
// the backend.
//
// ORT reports names, types, shapes and the model metadata; the file scan
// (onnx_scan.h) adds what ORT's C API does not expose: opset imports, the
// producer version and the inputs' and outputs' doc strings.
//
// Thread-safety: reads the session only; safe alongside Run.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <string_view>

#include "backends/onnxruntime/onnx_scan.h"
#include "core/model.h"
#include "core/status.h"

namespace infergate::ort {

// InvalidArgument when an input or output is not a tensor or has an element
// type core cannot represent (the message names it and its ONNX type).
// Errors are prefixed with `file`. Never throws.
core::StatusOr<core::ModelSignature> ReadSignature(const Ort::Session& session,
                                                   const OnnxFileFacts& facts,
                                                   std::string_view file);

}  // namespace infergate::ort

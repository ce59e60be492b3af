// ONNX tensor element types <-> core::DataType. Internal to the backend.
//
// Every core type has an ONNX counterpart (BYTES is ONNX's STRING). ONNX
// types without a core counterpart (complex, float8, 4-bit and anything a
// newer runtime adds) map to kInvalid; a model that uses one in an input or
// output is refused at load.
//
// Thread-safety: pure functions.
#pragma once

#include <onnxruntime_c_api.h>

#include <string>

#include "core/datatype.h"

namespace infergate::ort {

// kInvalid when the ONNX type has no core counterpart.
core::DataType DataTypeFromOnnx(ONNXTensorElementDataType type);

// ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED for kInvalid.
ONNXTensorElementDataType OnnxFromDataType(core::DataType type);

// ONNX's spelling, as in "tensor(float)": "float", "bfloat16", "complex64";
// "element type <n>" for a code this build does not know.
std::string OnnxElementTypeName(int type);

// "sequence", "map", ... for the kinds of value ORT reports; "tensor" too.
std::string OnnxValueKindName(ONNXType kind);

}  // namespace infergate::ort

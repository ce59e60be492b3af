#include "backends/onnxruntime/type_map.h"

namespace infergate::ort {

using core::DataType;

core::DataType DataTypeFromOnnx(ONNXTensorElementDataType type) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: return DataType::kBool;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: return DataType::kUint8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16: return DataType::kUint16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32: return DataType::kUint32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64: return DataType::kUint64;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: return DataType::kInt8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: return DataType::kInt16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return DataType::kInt32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: return DataType::kInt64;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return DataType::kFp16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: return DataType::kBf16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return DataType::kFp32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: return DataType::kFp64;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING: return DataType::kBytes;
    default: return DataType::kInvalid;
  }
}

ONNXTensorElementDataType OnnxFromDataType(core::DataType type) {
  switch (type) {
    case DataType::kBool: return ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL;
    case DataType::kUint8: return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
    case DataType::kUint16: return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16;
    case DataType::kUint32: return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32;
    case DataType::kUint64: return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64;
    case DataType::kInt8: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
    case DataType::kInt16: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16;
    case DataType::kInt32: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
    case DataType::kInt64: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
    case DataType::kFp16: return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
    case DataType::kBf16: return ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16;
    case DataType::kFp32: return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    case DataType::kFp64: return ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE;
    case DataType::kBytes: return ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING;
    case DataType::kInvalid: break;
  }
  return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
}

std::string OnnxElementTypeName(int type) {
  // Indexed by ONNX's TensorProto.DataType code (the same numbers as
  // ONNXTensorElementDataType).
  static constexpr const char* kNames[] = {
      "undefined",  "float",         "uint8",         "int8",        "uint16",
      "int16",      "int32",         "int64",         "string",      "bool",
      "float16",    "double",        "uint32",        "uint64",      "complex64",
      "complex128", "bfloat16",      "float8e4m3fn",  "float8e4m3fnuz", "float8e5m2",
      "float8e5m2fnuz", "uint4",     "int4",          "float4e2m1"};
  if (type >= 0 && static_cast<size_t>(type) < std::size(kNames)) return kNames[type];
  return "element type " + std::to_string(type);
}

std::string OnnxValueKindName(ONNXType kind) {
  switch (kind) {
    case ONNX_TYPE_TENSOR: return "tensor";
    case ONNX_TYPE_SEQUENCE: return "sequence";
    case ONNX_TYPE_MAP: return "map";
    case ONNX_TYPE_OPAQUE: return "opaque";
    case ONNX_TYPE_SPARSETENSOR: return "sparse tensor";
    case ONNX_TYPE_OPTIONAL: return "optional";
    case ONNX_TYPE_UNKNOWN: break;
  }
  return "unknown";
}

}  // namespace infergate::ort

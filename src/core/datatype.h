// Tensor element types: the KServe v2 set, with their sizes and names.
//
// Names: KServe v2 spells them "FP32", Triton's model configuration
// "TYPE_FP32"; both are accepted when parsing. The ONNX counterpart of each
// type lives in the ONNX Runtime backend (core knows no ONNX).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace infergate::core {

enum class DataType : uint8_t {
  kInvalid = 0,
  kBool,
  kUint8,
  kUint16,
  kUint32,
  kUint64,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kFp16,
  kBf16,
  kFp32,
  kFp64,
  kBytes,  // variable-length byte strings; see tensor.h for the layout
};

inline constexpr DataType kAllDataTypes[] = {
    DataType::kBool,  DataType::kUint8, DataType::kUint16, DataType::kUint32, DataType::kUint64,
    DataType::kInt8,  DataType::kInt16, DataType::kInt32,  DataType::kInt64,  DataType::kFp16,
    DataType::kBf16,  DataType::kFp32,  DataType::kFp64,   DataType::kBytes};

// Size of one element in bytes; 0 for kBytes and kInvalid.
size_t ElementSize(DataType type);

// "FP32", "BYTES", ...; "INVALID" for kInvalid.
std::string_view DataTypeName(DataType type);

// Triton's model-config spelling: "TYPE_FP32", "TYPE_STRING" for BYTES.
std::string_view TritonDataTypeName(DataType type);

// Parses "FP32", "fp32", "TYPE_FP32" and "TYPE_STRING"/"STRING" (as BYTES).
// Returns kInvalid for anything else.
DataType DataTypeFromName(std::string_view name);

}  // namespace infergate::core

#include "core/datatype.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace infergate::core {

size_t ElementSize(DataType type) {
  switch (type) {
    case DataType::kBool:
    case DataType::kUint8:
    case DataType::kInt8: return 1;
    case DataType::kUint16:
    case DataType::kInt16:
    case DataType::kFp16:
    case DataType::kBf16: return 2;
    case DataType::kUint32:
    case DataType::kInt32:
    case DataType::kFp32: return 4;
    case DataType::kUint64:
    case DataType::kInt64:
    case DataType::kFp64: return 8;
    case DataType::kBytes:
    case DataType::kInvalid: return 0;
  }
  return 0;
}

std::string_view DataTypeName(DataType type) {
  switch (type) {
    case DataType::kBool: return "BOOL";
    case DataType::kUint8: return "UINT8";
    case DataType::kUint16: return "UINT16";
    case DataType::kUint32: return "UINT32";
    case DataType::kUint64: return "UINT64";
    case DataType::kInt8: return "INT8";
    case DataType::kInt16: return "INT16";
    case DataType::kInt32: return "INT32";
    case DataType::kInt64: return "INT64";
    case DataType::kFp16: return "FP16";
    case DataType::kBf16: return "BF16";
    case DataType::kFp32: return "FP32";
    case DataType::kFp64: return "FP64";
    case DataType::kBytes: return "BYTES";
    case DataType::kInvalid: return "INVALID";
  }
  return "INVALID";
}

std::string_view TritonDataTypeName(DataType type) {
  switch (type) {
    case DataType::kBool: return "TYPE_BOOL";
    case DataType::kUint8: return "TYPE_UINT8";
    case DataType::kUint16: return "TYPE_UINT16";
    case DataType::kUint32: return "TYPE_UINT32";
    case DataType::kUint64: return "TYPE_UINT64";
    case DataType::kInt8: return "TYPE_INT8";
    case DataType::kInt16: return "TYPE_INT16";
    case DataType::kInt32: return "TYPE_INT32";
    case DataType::kInt64: return "TYPE_INT64";
    case DataType::kFp16: return "TYPE_FP16";
    case DataType::kBf16: return "TYPE_BF16";
    case DataType::kFp32: return "TYPE_FP32";
    case DataType::kFp64: return "TYPE_FP64";
    case DataType::kBytes: return "TYPE_STRING";
    case DataType::kInvalid: return "TYPE_INVALID";
  }
  return "TYPE_INVALID";
}

DataType DataTypeFromName(std::string_view name) {
  std::string upper(name);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  std::string_view n = upper;
  if (n.substr(0, 5) == "TYPE_") n.remove_prefix(5);
  if (n == "STRING") return DataType::kBytes;
  for (DataType t : kAllDataTypes) {
    if (DataTypeName(t) == n) return t;
  }
  return DataType::kInvalid;
}

}  // namespace infergate::core

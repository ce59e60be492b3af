#include "pipeline/tensor_values.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "pipeline/plan.h"

namespace infergate::pipeline {
namespace {

template <typename T>
T Convert(double v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else if constexpr (std::is_same_v<T, bool>) {
    return v != 0;
  } else {
    const double r = std::nearbyint(v);
    if (!(r > static_cast<double>(std::numeric_limits<T>::lowest())))
      return std::numeric_limits<T>::lowest();
    if (!(r < static_cast<double>(std::numeric_limits<T>::max())))
      return std::numeric_limits<T>::max();
    return static_cast<T>(r);
  }
}

template <typename T>
std::vector<uint8_t> Pack(std::span<const double> values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(T));
  for (size_t i = 0; i < values.size(); ++i) {
    T v = Convert<T>(values[i]);
    std::memcpy(bytes.data() + i * sizeof(T), &v, sizeof(T));
  }
  return bytes;
}

template <typename T>
std::vector<double> Unpack(const core::Tensor& t) {
  std::vector<double> out(t.byte_size() / sizeof(T));
  for (size_t i = 0; i < out.size(); ++i) {
    T v;
    std::memcpy(&v, t.data() + i * sizeof(T), sizeof(T));
    out[i] = static_cast<double>(v);
  }
  return out;
}

}  // namespace

core::Tensor ToTensor(core::DataType type, core::Shape shape, std::span<const double> values) {
  using core::DataType;
  std::vector<uint8_t> bytes;
  switch (type) {
    case DataType::kBool:
      bytes = Pack<bool>(values);
      break;
    case DataType::kUint8:
      bytes = Pack<uint8_t>(values);
      break;
    case DataType::kUint16:
      bytes = Pack<uint16_t>(values);
      break;
    case DataType::kUint32:
      bytes = Pack<uint32_t>(values);
      break;
    case DataType::kUint64:
      bytes = Pack<uint64_t>(values);
      break;
    case DataType::kInt8:
      bytes = Pack<int8_t>(values);
      break;
    case DataType::kInt16:
      bytes = Pack<int16_t>(values);
      break;
    case DataType::kInt32:
      bytes = Pack<int32_t>(values);
      break;
    case DataType::kInt64:
      bytes = Pack<int64_t>(values);
      break;
    case DataType::kFp32:
      bytes = Pack<float>(values);
      break;
    case DataType::kFp64:
      bytes = Pack<double>(values);
      break;
    default:
      break;
  }
  return core::Tensor::FromBytes(type, std::move(shape), std::move(bytes));
}

core::StatusOr<std::vector<double>> ToDoubles(const core::Tensor& t, std::string_view what) {
  using core::DataType;
  if (!IsNumeric(t.dtype())) {
    return core::InvalidArgument(std::string(what) + " is " +
                                 std::string(core::DataTypeName(t.dtype())) +
                                 ", not a numeric tensor");
  }
  RETURN_IF_ERROR(t.Validate(what));
  switch (t.dtype()) {
    case DataType::kBool:
      return Unpack<bool>(t);
    case DataType::kUint8:
      return Unpack<uint8_t>(t);
    case DataType::kUint16:
      return Unpack<uint16_t>(t);
    case DataType::kUint32:
      return Unpack<uint32_t>(t);
    case DataType::kUint64:
      return Unpack<uint64_t>(t);
    case DataType::kInt8:
      return Unpack<int8_t>(t);
    case DataType::kInt16:
      return Unpack<int16_t>(t);
    case DataType::kInt32:
      return Unpack<int32_t>(t);
    case DataType::kInt64:
      return Unpack<int64_t>(t);
    case DataType::kFp32:
      return Unpack<float>(t);
    case DataType::kFp64:
      return Unpack<double>(t);
    default:
      break;
  }
  return core::Internal("unreachable datatype");
}

}  // namespace infergate::pipeline

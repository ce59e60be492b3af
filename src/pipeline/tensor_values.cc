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

// Calls f(TypeTag<T>{}) with the C++ type of a numeric element type; false
// for the others.
template <typename T>
struct TypeTag {
  using type = T;
};

template <typename F>
bool WithNumericType(core::DataType type, F&& f) {
  using core::DataType;
  switch (type) {
    case DataType::kBool:
      f(TypeTag<bool>{});
      return true;
    case DataType::kUint8:
      f(TypeTag<uint8_t>{});
      return true;
    case DataType::kUint16:
      f(TypeTag<uint16_t>{});
      return true;
    case DataType::kUint32:
      f(TypeTag<uint32_t>{});
      return true;
    case DataType::kUint64:
      f(TypeTag<uint64_t>{});
      return true;
    case DataType::kInt8:
      f(TypeTag<int8_t>{});
      return true;
    case DataType::kInt16:
      f(TypeTag<int16_t>{});
      return true;
    case DataType::kInt32:
      f(TypeTag<int32_t>{});
      return true;
    case DataType::kInt64:
      f(TypeTag<int64_t>{});
      return true;
    case DataType::kFp32:
      f(TypeTag<float>{});
      return true;
    case DataType::kFp64:
      f(TypeTag<double>{});
      return true;
    default:
      return false;
  }
}

}  // namespace

core::Tensor ToTensor(core::DataType type, core::Shape shape, std::span<const double> values) {
  std::vector<uint8_t> bytes;
  WithNumericType(type, [&](auto tag) { bytes = Pack<typename decltype(tag)::type>(values); });
  return core::Tensor::FromBytes(type, std::move(shape), std::move(bytes));
}

core::StatusOr<std::vector<double>> ToDoubles(const core::Tensor& t, std::string_view what) {
  if (!IsNumeric(t.dtype())) {
    return core::InvalidArgument(std::string(what) + " is " +
                                 std::string(core::DataTypeName(t.dtype())) +
                                 ", not a numeric tensor");
  }
  RETURN_IF_ERROR(t.Validate(what));
  std::vector<double> out;
  WithNumericType(t.dtype(), [&](auto tag) { out = Unpack<typename decltype(tag)::type>(t); });
  return out;
}

}  // namespace infergate::pipeline

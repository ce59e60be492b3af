#include "backends/onnxruntime/string_tensor.h"

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace infergate::ort {
namespace {

uint32_t ReadLength(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

void WriteLength(uint32_t length, uint8_t* p) {
  p[0] = static_cast<uint8_t>(length);
  p[1] = static_cast<uint8_t>(length >> 8);
  p[2] = static_cast<uint8_t>(length >> 16);
  p[3] = static_cast<uint8_t>(length >> 24);
}

}  // namespace

Ort::Value MakeOrtStringTensor(const core::Tensor& tensor, OrtAllocator* allocator) {
  const core::Shape& shape = tensor.shape();
  Ort::Value value = Ort::Value::CreateTensor(allocator, shape.data(), shape.size(),
                                              ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING);
  const size_t count = static_cast<size_t>(tensor.element_count());
  const uint8_t* data = tensor.data();
  const size_t size = tensor.byte_size();
  size_t pos = 0;
  // The bounds checks repeat what Validate() guaranteed; they keep a broken
  // precondition from reading past the buffer.
  for (size_t i = 0; i < count && size - pos >= 4; ++i) {
    uint32_t length = ReadLength(data + pos);
    pos += 4;
    if (size - pos < length) break;
    // Written in place with its length: FillStringTensorElement would stop
    // at the first NUL byte.
    char* dest = value.GetResizedStringTensorElementBuffer(i, length);
    if (length > 0) std::memcpy(dest, data + pos, length);
    pos += length;
  }
  return value;
}

core::Tensor CopyOrtStringTensor(const Ort::Value& value, core::Shape shape) {
  const size_t count = static_cast<size_t>(core::ElementCount(shape).value_or(0));
  std::vector<size_t> lengths(count);
  size_t total = 0;
  for (size_t i = 0; i < count; ++i) {
    lengths[i] = value.GetStringTensorElementLength(i);
    if (lengths[i] > UINT32_MAX) throw std::length_error("a BYTES element is longer than 4 GiB");
    total += 4 + lengths[i];
  }
  std::vector<uint8_t> bytes(total);
  uint8_t* out = bytes.data();
  for (size_t i = 0; i < count; ++i) {
    WriteLength(static_cast<uint32_t>(lengths[i]), out);
    out += 4;
    if (lengths[i] > 0) value.GetStringTensorElement(lengths[i], i, out);
    out += lengths[i];
  }
  return core::Tensor::FromBytes(core::DataType::kBytes, std::move(shape), std::move(bytes));
}

}  // namespace infergate::ort

#include "core/tensor.h"

#include <numeric>

namespace infergate::core {
namespace {

uint32_t ReadLength(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

// Offsets of the first `count` BYTES elements plus the end offset; error if
// the buffer is not exactly `count` well-formed elements.
StatusOr<std::vector<size_t>> BytesOffsets(const uint8_t* data, size_t size, int64_t count,
                                           std::string_view what) {
  std::vector<size_t> offsets;
  offsets.reserve(static_cast<size_t>(count) + 1);
  size_t pos = 0;
  for (int64_t i = 0; i < count; ++i) {
    if (size - pos < 4) {
      return InvalidArgument(std::string(what) + ": BYTES element " + std::to_string(i) +
                             " is truncated (expected " + std::to_string(count) + " elements)");
    }
    uint32_t len = ReadLength(data + pos);
    if (size - pos - 4 < len) {
      return InvalidArgument(std::string(what) + ": BYTES element " + std::to_string(i) +
                             " declares " + std::to_string(len) + " bytes but only " +
                             std::to_string(size - pos - 4) + " remain");
    }
    offsets.push_back(pos);
    pos += 4 + len;
  }
  if (pos != size) {
    return InvalidArgument(std::string(what) + ": " + std::to_string(size - pos) +
                           " bytes after the last of " + std::to_string(count) + " BYTES elements");
  }
  offsets.push_back(pos);
  return offsets;
}

}  // namespace

Tensor Tensor::FromBytes(DataType type, Shape shape, std::vector<uint8_t> bytes) {
  auto owner = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  Tensor t;
  t.dtype_ = type;
  t.shape_ = std::move(shape);
  t.data_ = owner->data();
  t.size_ = owner->size();
  t.owner_ = std::move(owner);
  return t;
}

Tensor Tensor::Borrow(DataType type, Shape shape, const void* data, size_t size,
                      std::shared_ptr<const void> owner) {
  Tensor t;
  t.dtype_ = type;
  t.shape_ = std::move(shape);
  t.data_ = static_cast<const uint8_t*>(data);
  t.size_ = size;
  t.owner_ = std::move(owner);
  return t;
}

Tensor Tensor::BorrowIfAligned(DataType type, Shape shape, const void* data, size_t size,
                               std::shared_ptr<const void> owner) {
  const size_t alignment = ElementSize(type);
  if (alignment == 0 || reinterpret_cast<uintptr_t>(data) % alignment == 0) {
    return Borrow(type, std::move(shape), data, size, std::move(owner));
  }
  const auto* bytes = static_cast<const uint8_t*>(data);
  return FromBytes(type, std::move(shape), std::vector<uint8_t>(bytes, bytes + size));
}

Tensor Tensor::FromStrings(const std::vector<std::string>& strings, Shape shape) {
  std::vector<uint8_t> bytes;
  size_t total = 0;
  for (const auto& s : strings) total += 4 + s.size();
  bytes.reserve(total);
  for (const auto& s : strings) AppendBytesElement(s, &bytes);
  if (shape.empty()) shape = {static_cast<int64_t>(strings.size())};
  return FromBytes(DataType::kBytes, std::move(shape), std::move(bytes));
}

int64_t Tensor::element_count() const { return ElementCount(shape_).value_or(0); }

Status Tensor::Validate(std::string_view what) const {
  auto count = ElementCount(shape_);
  if (!count) {
    return InvalidArgument(std::string(what) + ": invalid shape " + ShapeToString(shape_));
  }
  if (dtype_ == DataType::kInvalid) return InvalidArgument(std::string(what) + ": invalid datatype");
  if (dtype_ == DataType::kBytes) return BytesOffsets(data_, size_, *count, what).status();
  size_t elem = ElementSize(dtype_);
  if (static_cast<uint64_t>(*count) > size_ / elem + 1 ||
      static_cast<size_t>(*count) * elem != size_) {
    return InvalidArgument(std::string(what) + ": shape " + ShapeToString(shape_) + " holds " +
                           std::to_string(*count) + " " + std::string(DataTypeName(dtype_)) +
                           " elements of " + std::to_string(elem) + " bytes, but " +
                           std::to_string(size_) + " bytes were given");
  }
  return Status::Ok();
}

StatusOr<std::vector<std::string_view>> Tensor::StringElements() const {
  if (dtype_ != DataType::kBytes) return InvalidArgument("not a BYTES tensor");
  ASSIGN_OR_RETURN(auto offsets, BytesOffsets(data_, size_, element_count(), "tensor"));
  std::vector<std::string_view> out;
  out.reserve(offsets.size() - 1);
  for (size_t i = 0; i + 1 < offsets.size(); ++i) {
    out.emplace_back(reinterpret_cast<const char*>(data_ + offsets[i] + 4),
                     offsets[i + 1] - offsets[i] - 4);
  }
  return out;
}

StatusOr<Tensor> Tensor::SliceRows(int64_t begin, int64_t end) const {
  if (shape_.empty() || begin < 0 || end < begin || end > shape_[0]) {
    return InvalidArgument("row slice [" + std::to_string(begin) + "," + std::to_string(end) +
                           ") out of range for shape " + ShapeToString(shape_));
  }
  Shape rest(shape_.begin() + 1, shape_.end());
  int64_t row_elems = ElementCount(rest).value_or(0);
  Shape out_shape = shape_;
  out_shape[0] = end - begin;
  if (dtype_ != DataType::kBytes) {
    size_t row_bytes = static_cast<size_t>(row_elems) * ElementSize(dtype_);
    return Borrow(dtype_, std::move(out_shape), data_ + row_bytes * begin,
                  row_bytes * (end - begin), owner_);
  }
  ASSIGN_OR_RETURN(auto offsets, BytesOffsets(data_, size_, element_count(), "tensor"));
  size_t from = offsets[begin * row_elems];
  size_t to = offsets[end * row_elems];
  return Borrow(dtype_, std::move(out_shape), data_ + from, to - from, owner_);
}

StatusOr<Tensor> Tensor::Reshaped(Shape shape) const {
  auto n = ElementCount(shape);
  if (!n || *n != element_count()) {
    return InvalidArgument("cannot reshape " + ShapeToString(shape_) + " to " + ShapeToString(shape));
  }
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

void AppendBytesElement(std::string_view element, std::vector<uint8_t>* out) {
  uint32_t len = static_cast<uint32_t>(element.size());
  uint8_t prefix[4] = {static_cast<uint8_t>(len), static_cast<uint8_t>(len >> 8),
                       static_cast<uint8_t>(len >> 16), static_cast<uint8_t>(len >> 24)};
  out->insert(out->end(), prefix, prefix + 4);
  out->insert(out->end(), element.begin(), element.end());
}

StatusOr<Tensor> ConcatRows(const std::vector<const Tensor*>& parts) {
  if (parts.empty()) return InvalidArgument("nothing to concatenate");
  const Tensor& first = *parts.front();
  if (first.shape().empty()) return InvalidArgument("cannot concatenate scalars");
  Shape shape = first.shape();
  shape[0] = 0;
  size_t total = 0;
  for (const Tensor* t : parts) {
    if (t->dtype() != first.dtype() || t->shape().size() != shape.size() ||
        !std::equal(t->shape().begin() + 1, t->shape().end(), first.shape().begin() + 1)) {
      return InvalidArgument("cannot concatenate " + ShapeToString(t->shape()) + " with " +
                             ShapeToString(first.shape()));
    }
    shape[0] += t->shape()[0];
    total += t->byte_size();
  }
  std::vector<uint8_t> bytes(total);
  size_t pos = 0;
  for (const Tensor* t : parts) {
    if (t->byte_size()) std::memcpy(bytes.data() + pos, t->data(), t->byte_size());
    pos += t->byte_size();
  }
  return Tensor::FromBytes(first.dtype(), std::move(shape), std::move(bytes));
}

}  // namespace infergate::core

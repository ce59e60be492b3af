// Tensor: a data type, a shape and the bytes, owned or borrowed.
//
// Layout: row-major, little-endian, densely packed. BYTES tensors hold each
// element as a 4-byte little-endian length followed by that many bytes,
// elements back to back (the KServe v2 binary tensor layout), so a BYTES
// tensor is also one contiguous buffer.
//
// Ownership: the bytes live as long as any copy of the Tensor (a shared
// `owner` keeps them alive). Borrowing lets a frontend hand its request body to
// the backend without a copy, and lets the backend hand ORT's output buffer to
// a frontend without a copy. Tensors are immutable once built, so copies may
// be read from any thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/datatype.h"
#include "core/shape.h"
#include "core/status.h"

namespace infergate::core {

class Tensor {
 public:
  Tensor() = default;

  // Takes ownership of `bytes`.
  static Tensor FromBytes(DataType type, Shape shape, std::vector<uint8_t> bytes);
  // Borrows [data, data + size); `owner` (may be null when the caller
  // guarantees the lifetime) is kept alive as long as any copy of the tensor.
  static Tensor Borrow(DataType type, Shape shape, const void* data, size_t size,
                       std::shared_ptr<const void> owner);
  // Borrows like Borrow when `data` is aligned to the element size (what
  // typed reads of it need), else holds a copy.
  static Tensor BorrowIfAligned(DataType type, Shape shape, const void* data, size_t size,
                                std::shared_ptr<const void> owner);
  // A BYTES tensor from strings; shape defaults to [strings.size()].
  static Tensor FromStrings(const std::vector<std::string>& strings, Shape shape = {});
  // A tensor of a fixed-size type from values of the matching C++ type.
  template <typename T>
  static Tensor FromValues(DataType type, Shape shape, const std::vector<T>& values) {
    std::vector<uint8_t> bytes(values.size() * sizeof(T));
    if (!bytes.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
    return FromBytes(type, std::move(shape), std::move(bytes));
  }

  DataType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  const uint8_t* data() const { return data_; }
  size_t byte_size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  // Number of elements the shape declares (0 for a malformed shape).
  int64_t element_count() const;

  // Reinterprets the bytes as T. Precondition: ElementSize(dtype()) == sizeof(T).
  template <typename T>
  std::span<const T> As() const {
    return {reinterpret_cast<const T*>(data_), size_ / sizeof(T)};
  }

  // OK when the bytes agree with the shape: element_count * element size for
  // fixed-size types, well-formed length-prefixed elements of the right count
  // for BYTES. `what` names the tensor in the error ("input 'x'").
  Status Validate(std::string_view what) const;

  // The elements of a BYTES tensor as views into its buffer.
  StatusOr<std::vector<std::string_view>> StringElements() const;

  // Rows [begin, end) along dimension 0, sharing this tensor's storage.
  StatusOr<Tensor> SliceRows(int64_t begin, int64_t end) const;

  // A copy of the same bytes with another shape of the same element count.
  StatusOr<Tensor> Reshaped(Shape shape) const;

 private:
  DataType dtype_ = DataType::kInvalid;
  Shape shape_;
  std::shared_ptr<const void> owner_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Appends one BYTES element (length prefix and bytes) to `out`.
void AppendBytesElement(std::string_view element, std::vector<uint8_t>* out);

// Concatenates tensors of one type along dimension 0 into a new owned tensor.
// Precondition: all have the same dtype and the same dims after the first.
StatusOr<Tensor> ConcatRows(const std::vector<const Tensor*>& parts);

}  // namespace infergate::core

// Numbers <-> tensors of any numeric element type (see plan.h IsNumeric).
// Thread-safety: pure functions.
#pragma once

#include <span>
#include <vector>

#include "core/tensor.h"

namespace infergate::pipeline {

// A new tensor of `type` holding `values` (rounded to the nearest integer and
// clamped to the type's range for integer types; non-zero is true for BOOL).
// Precondition: IsNumeric(type) and values.size() equals the shape's count.
core::Tensor ToTensor(core::DataType type, core::Shape shape, std::span<const double> values);

// The elements of a numeric tensor as doubles; INVALID_ARGUMENT for BYTES,
// FP16, BF16 or bytes that disagree with the shape. `what` names the tensor.
core::StatusOr<std::vector<double>> ToDoubles(const core::Tensor& tensor, std::string_view what);

}  // namespace infergate::pipeline

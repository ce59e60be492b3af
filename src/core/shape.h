// Tensor shapes. A dimension of -1 means "any size" (dynamic) in a model's
// signature; a concrete tensor's shape has no -1.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace infergate::core {

inline constexpr int64_t kDynamicDim = -1;

using Shape = std::vector<int64_t>;

// "[1,16]" or "[-1,16]".
std::string ShapeToString(const Shape& shape);

// Product of the dimensions; 1 for a scalar (empty shape). nullopt when a
// dimension is negative or the product overflows int64 (hostile input).
std::optional<int64_t> ElementCount(const Shape& shape);

// True when `concrete` (no -1) fits `pattern` (which may hold -1).
bool ShapeMatches(const Shape& pattern, const Shape& concrete);

// True when any dimension is -1.
bool HasDynamicDim(const Shape& shape);

}  // namespace infergate::core

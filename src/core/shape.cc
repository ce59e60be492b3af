#include "core/shape.h"

#include <limits>

namespace infergate::core {

std::string ShapeToString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(shape[i]);
  }
  s += ']';
  return s;
}

std::optional<int64_t> ElementCount(const Shape& shape) {
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0) return std::nullopt;
    if (d != 0 && count > std::numeric_limits<int64_t>::max() / d) return std::nullopt;
    count *= d;
  }
  return count;
}

bool ShapeMatches(const Shape& pattern, const Shape& concrete) {
  if (pattern.size() != concrete.size()) return false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != kDynamicDim && pattern[i] != concrete[i]) return false;
  }
  return true;
}

bool HasDynamicDim(const Shape& shape) {
  for (int64_t d : shape) {
    if (d < 0) return true;
  }
  return false;
}

}  // namespace infergate::core

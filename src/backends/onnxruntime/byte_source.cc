#include "backends/onnxruntime/byte_source.h"

#include <cstring>
#include <string>

namespace infergate::ort {

core::Status MemoryByteSource::Read(uint64_t offset, size_t n, uint8_t* out) {
  if (offset > bytes_.size() || n > bytes_.size() - offset) {
    return core::InvalidArgument("read of " + std::to_string(n) + " bytes at byte " +
                                 std::to_string(offset) + " is past the end (" +
                                 std::to_string(bytes_.size()) + " bytes)");
  }
  if (n > 0) std::memcpy(out, bytes_.data() + offset, n);
  return core::Status::Ok();
}

}  // namespace infergate::ort

// Where the model scan (onnx_scan.h) gets its bytes from: positional reads
// of a fixed-size byte range, so the scan can skip what it does not need
// (weights) by offset instead of reading it. Internal to the backend.
//
// Two sources: MemoryByteSource over bytes in memory (tests, fuzzing) and
// FileByteSource (file_byte_source.h) over a model file.
//
// Thread-safety: a source is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/status.h"

namespace infergate::ort {

class ByteSource {
 public:
  virtual ~ByteSource() = default;

  // The number of bytes the source holds, fixed when it was made. Reads
  // never go past it.
  virtual uint64_t size() const = 0;

  // Copies the n bytes at `offset` to out[0, n). An error (naming the source)
  // when [offset, offset + n) is not within size() or the bytes can no longer
  // be read (an I/O error, a file that shrank); `out` is then unspecified.
  virtual core::Status Read(uint64_t offset, size_t n, uint8_t* out) = 0;
};

// Bytes in memory, borrowed: they must outlive the source.
class MemoryByteSource final : public ByteSource {
 public:
  explicit MemoryByteSource(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  uint64_t size() const override { return bytes_.size(); }
  core::Status Read(uint64_t offset, size_t n, uint8_t* out) override;

 private:
  std::span<const uint8_t> bytes_;
};

}  // namespace infergate::ort

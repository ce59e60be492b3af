// A read-only memory mapping of a whole file. Internal to the backend: the
// loader scans a model file's bytes before ORT opens it, and a mapping
// reads only the pages the scan touches (the scan skips over weights).
//
// Ownership: the mapping lives as long as the object (move-only).
// Thread-safety: bytes() may be read from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

#include "core/status.h"

namespace infergate::ort {

class MappedFile {
 public:
  // NotFound when the file does not exist; InvalidArgument when it is not a
  // regular file or cannot be read. The message names the file.
  static core::StatusOr<MappedFile> Open(const std::filesystem::path& file);

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  // Empty for an empty file.
  std::span<const uint8_t> bytes() const { return {data_, size_}; }

 private:
  MappedFile(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  void Reset();

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace infergate::ort

// A model file as a ByteSource: positional reads (pread) through a small
// read-ahead buffer, so the scan reads the model's structure and skips its
// weights by offset. Internal to the backend.
//
// Read, not mapped: the repository is polled while people copy new models
// over old ones, and a mapping of a file that shrinks under it raises SIGBUS
// on the next read of a lost page, which would kill the process. Here a file
// that shrinks while it is read fails that Read with a reason, and
// CheckUnchanged() tells when it was rewritten meanwhile. Memory is the
// buffer only (kMaxReadAhead), whatever the file's size.
//
// Read-ahead adapts like the kernel's: it starts at kMinReadAhead after
// every jump (a skipped field) and doubles up to kMaxReadAhead while reads
// follow on from the buffer, so skipping many small tensors reads little and
// walking a large graph takes few system calls. A 100 MB model of 1 MiB
// tensors is scanned in ~30 us reading ~50 KB; one of 16 KiB tensors in
// ~2 ms reading ~3 MB (bench/onnx_scan_bench.cc, docs/benchmarks.md).
//
// Thread-safety: one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "backends/onnxruntime/byte_source.h"
#include "core/status.h"

struct stat;

namespace infergate::ort {

class FileByteSource final : public ByteSource {
 public:
  static constexpr size_t kMinReadAhead = 512;
  static constexpr size_t kMaxReadAhead = 256 << 10;

  // Opens `file` and takes its size. NotFound when it does not exist;
  // InvalidArgument when it is not a regular file or cannot be opened. Every
  // error message names the file.
  static core::StatusOr<std::unique_ptr<FileByteSource>> Open(const std::filesystem::path& file);

  ~FileByteSource() override;
  FileByteSource(const FileByteSource&) = delete;
  FileByteSource& operator=(const FileByteSource&) = delete;

  uint64_t size() const override { return size_; }
  // InvalidArgument naming the file on an I/O error, or when the file ends
  // before size() (it shrank since Open).
  core::Status Read(uint64_t offset, size_t n, uint8_t* out) override;

  // InvalidArgument naming the file when the path no longer names the file
  // opened, or that file's size or modification time changed since Open: its
  // bytes may not be the ones read. (Rewrites within the file system's
  // timestamp granularity that keep the size can go unnoticed.)
  core::Status CheckUnchanged() const;

  // Bytes fetched from the file so far (what the read-ahead fetched, not
  // what callers asked for).
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  struct Identity {
    uint64_t device = 0, inode = 0, size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const Identity&) const = default;
  };

  static Identity IdentityOf(const struct stat& st);
  FileByteSource(std::filesystem::path file, int fd, Identity identity);
  // Reads exactly n bytes at offset into out with pread.
  core::Status PreadExactly(uint64_t offset, size_t n, uint8_t* out);
  core::Status Fill(uint64_t offset, size_t n);

  const std::filesystem::path file_;
  const int fd_;
  const Identity identity_;
  const uint64_t size_;
  // The file's bytes [buffer_offset_, buffer_offset_ + buffer_size_).
  std::unique_ptr<uint8_t[]> buffer_;
  uint64_t buffer_offset_ = 0;
  size_t buffer_size_ = 0;
  size_t read_ahead_ = kMinReadAhead;
  uint64_t bytes_read_ = 0;
};

}  // namespace infergate::ort

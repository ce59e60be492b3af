// SHA-256 (OpenSSL EVP) for the fleet manifest: of a file, read in chunks,
// and incrementally of bytes as they arrive.
//
// Thread-safety: Sha256File any thread; a Sha256 object one thread at a time.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/file_stamp.h"
#include "core/status.h"

namespace infergate::edge {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view bytes);
  // The digest as 64 lowercase hex digits; the object is spent afterwards.
  std::string HexDigest();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string Sha256Hex(std::string_view bytes);
// The file's digest, or the error naming it (cannot be opened or read).
core::StatusOr<std::string> Sha256File(const std::filesystem::path& file);

// Digests of files, each computed once and kept while the file's FileStamp
// (size, mtime, inode) stays the same. Thread-safe.
class DigestCache {
 public:
  struct Entry {
    uint64_t size = 0;
    std::string sha256;
  };
  // The file's size and sha256; UNAVAILABLE when it cannot be read or
  // changed while it was read (nothing is cached then).
  core::StatusOr<Entry> Get(const std::filesystem::path& file);

 private:
  struct Cached {
    core::FileStamp stamp;
    std::string sha256;
  };
  std::mutex mu_;
  std::map<std::string, Cached> cached_;  // GUARDED_BY(mu_), by path
};

}  // namespace infergate::edge

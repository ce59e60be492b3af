// TokenFile: the bearer token a remote model sends, read from its
// remote.token_file and read again whenever the file changes (its
// modification time, size or inode), so a rotated token is used from the
// next call on without loading the model again. A file that cannot be read
// later keeps the token read before.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "core/status.h"

namespace infergate::remote {

class TokenFile {
 public:
  // Reads `path` now: UNAVAILABLE when it cannot be read or holds no token
  // (it may appear before the repository's next poll).
  static core::StatusOr<std::shared_ptr<TokenFile>> Open(std::filesystem::path path);

  // The current token (whitespace around it trimmed); one stat of the file
  // per call.
  std::string Get();

 private:
  struct Stamp {
    std::filesystem::file_time_type mtime{};
    uintmax_t size = 0;
    uintmax_t inode = 0;
    bool operator==(const Stamp&) const = default;
  };
  explicit TokenFile(std::filesystem::path path) : path_(std::move(path)) {}
  static Stamp StampOf(const std::filesystem::path& path);
  core::Status Read(const Stamp& stamp);  // precondition: mu_ held, or not yet shared

  const std::filesystem::path path_;
  std::mutex mu_;
  std::string token_;  // GUARDED_BY(mu_)
  Stamp stamp_;        // GUARDED_BY(mu_): of the file token_ came from
};

}  // namespace infergate::remote

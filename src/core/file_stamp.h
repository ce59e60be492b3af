// FileStamp: what tells that a file changed without reading it: its size,
// modification time and inode (a new file renamed over it has a new inode).
// Watches compare the stamp of when they last read a file with the current
// one. A file that cannot be stat'ed, or an empty path, has the default stamp.
//
// Thread-safety: a value type; Of may be called from any thread.
#pragma once

#include <cstdint>
#include <filesystem>

namespace infergate::core {

struct FileStamp {
  int64_t size = -1;
  int64_t mtime_ns = -1;
  uint64_t inode = 0;
  bool operator==(const FileStamp&) const = default;

  static FileStamp Of(const std::filesystem::path& file);
};

}  // namespace infergate::core

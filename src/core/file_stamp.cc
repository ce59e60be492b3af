#include "core/file_stamp.h"

#include <sys/stat.h>

namespace infergate::core {

FileStamp FileStamp::Of(const std::filesystem::path& file) {
  struct stat st {};
  if (file.empty() || ::stat(file.c_str(), &st) != 0) return {};
  return {static_cast<int64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          static_cast<uint64_t>(st.st_ino)};
}

}  // namespace infergate::core

#include "backends/onnxruntime/file_bytes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

namespace infergate::ort {
namespace {

core::Status ErrnoStatus(const std::filesystem::path& file, const char* what, int err) {
  std::string message = file.string() + ": cannot " + what + ": " + std::strerror(err);
  if (err == ENOENT || err == ENOTDIR) return core::NotFound(std::move(message));
  return core::InvalidArgument(std::move(message));
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

core::StatusOr<std::vector<uint8_t>> ReadFileBytes(const std::filesystem::path& file) {
  Fd f{::open(file.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return ErrnoStatus(file, "open", errno);
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return ErrnoStatus(file, "stat", errno);
  if (!S_ISREG(st.st_mode)) return core::InvalidArgument(file.string() + ": not a regular file");
  // Sized from fstat; a file that shrinks meanwhile ends the read early and
  // the bytes are cut there, one that grows is read up to the size seen.
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(f.fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(file, "read", errno);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

}  // namespace infergate::ort

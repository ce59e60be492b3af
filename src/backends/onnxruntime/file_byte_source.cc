#include "backends/onnxruntime/file_byte_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace infergate::ort {
namespace {

core::Status ErrnoStatus(const std::filesystem::path& file, const char* what, int err) {
  std::string message = file.string() + ": cannot " + what + ": " + std::strerror(err);
  if (err == ENOENT || err == ENOTDIR) return core::NotFound(std::move(message));
  return core::InvalidArgument(std::move(message));
}

}  // namespace

core::StatusOr<std::unique_ptr<FileByteSource>> FileByteSource::Open(
    const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(file, "open", errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoStatus(file, "stat", err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return core::InvalidArgument(file.string() + ": not a regular file");
  }
  return std::unique_ptr<FileByteSource>(new FileByteSource(file, fd, IdentityOf(st)));
}

FileByteSource::Identity FileByteSource::IdentityOf(const struct stat& st) {
  return Identity{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                  static_cast<uint64_t>(st.st_size),
                  int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec};
}

FileByteSource::FileByteSource(std::filesystem::path file, int fd, Identity identity)
    : file_(std::move(file)),
      fd_(fd),
      identity_(identity),
      size_(identity.size),
      buffer_(new uint8_t[kMaxReadAhead]) {}

FileByteSource::~FileByteSource() { ::close(fd_); }

core::Status FileByteSource::Read(uint64_t offset, size_t n, uint8_t* out) {
  if (offset > size_ || n > size_ - offset) {
    return core::InvalidArgument(file_.string() + ": read of " + std::to_string(n) +
                                 " bytes at byte " + std::to_string(offset) + " is past the end (" +
                                 std::to_string(size_) + " bytes)");
  }
  if (n == 0) return core::Status::Ok();
  const uint64_t buffer_end = buffer_offset_ + buffer_size_;
  if (offset >= buffer_offset_ && offset + n <= buffer_end) {
    std::memcpy(out, buffer_.get() + (offset - buffer_offset_), n);
    return core::Status::Ok();
  }
  // Reads that follow on from the buffer double the read-ahead; a jump
  // resets it.
  const bool follows_on = buffer_size_ > 0 && offset >= buffer_offset_ && offset <= buffer_end;
  read_ahead_ = follows_on ? std::min(read_ahead_ * 2, kMaxReadAhead) : kMinReadAhead;
  if (n >= kMaxReadAhead) return PreadExactly(offset, n, out);
  RETURN_IF_ERROR(Fill(offset, std::max(n, read_ahead_)));
  std::memcpy(out, buffer_.get(), n);
  return core::Status::Ok();
}

core::Status FileByteSource::Fill(uint64_t offset, size_t n) {
  const size_t want = static_cast<size_t>(std::min<uint64_t>(n, size_ - offset));
  buffer_size_ = 0;
  RETURN_IF_ERROR(PreadExactly(offset, want, buffer_.get()));
  buffer_offset_ = offset;
  buffer_size_ = want;
  return core::Status::Ok();
}

core::Status FileByteSource::PreadExactly(uint64_t offset, size_t n, uint8_t* out) {
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::pread(fd_, out + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return ErrnoStatus(file_, "read", errno);
    if (got == 0) {
      return core::InvalidArgument(
          file_.string() + ": the file ends at byte " + std::to_string(offset + done) +
          ", it had " + std::to_string(size_) + " bytes when opened: it shrank while it was read");
    }
    done += static_cast<size_t>(got);
    bytes_read_ += static_cast<uint64_t>(got);
  }
  return core::Status::Ok();
}

core::Status FileByteSource::CheckUnchanged() const {
  struct stat opened {};
  struct stat named {};
  if (::fstat(fd_, &opened) != 0) return ErrnoStatus(file_, "stat", errno);
  if (::stat(file_.c_str(), &named) != 0) return ErrnoStatus(file_, "stat", errno);
  if (IdentityOf(opened) != identity_ || IdentityOf(named) != identity_) {
    return core::InvalidArgument(file_.string() + ": the file changed while it was read");
  }
  return core::Status::Ok();
}

}  // namespace infergate::ort

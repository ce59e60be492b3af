#include "edge/sha256.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace infergate::edge {

struct Sha256::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) { EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr); }
Sha256::~Sha256() = default;

void Sha256::Update(std::string_view bytes) { EVP_DigestUpdate(ctx_->md, bytes.data(), bytes.size()); }

std::string Sha256::HexDigest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_->md, digest, &n);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) out += {kHex[digest[i] >> 4], kHex[digest[i] & 15]};
  return out;
}

std::string Sha256Hex(std::string_view bytes) {
  Sha256 sha;
  sha.Update(bytes);
  return sha.HexDigest();
}

core::StatusOr<std::string> Sha256File(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return core::Unavailable(file.string() + ": cannot be opened: " + std::strerror(errno));
  Sha256 sha;
  std::vector<char> buffer(1 << 16);
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return core::Unavailable(file.string() + ": cannot be read: " + std::strerror(err));
    }
    sha.Update({buffer.data(), static_cast<size_t>(n)});
  }
  ::close(fd);
  return sha.HexDigest();
}

core::StatusOr<DigestCache::Entry> DigestCache::Get(const std::filesystem::path& file) {
  const core::FileStamp stamp = core::FileStamp::Of(file);
  if (stamp.size < 0) return core::Unavailable(file.string() + ": cannot be read");
  const uint64_t size = static_cast<uint64_t>(stamp.size);
  {
    std::lock_guard lock(mu_);
    auto it = cached_.find(file.string());
    if (it != cached_.end() && it->second.stamp == stamp) return Entry{size, it->second.sha256};
  }
  ASSIGN_OR_RETURN(std::string sha, Sha256File(file));
  if (core::FileStamp::Of(file) != stamp) return core::Unavailable(file.string() + ": changed while it was hashed");
  std::lock_guard lock(mu_);
  cached_[file.string()] = {stamp, sha};
  return Entry{size, std::move(sha)};
}

}  // namespace infergate::edge

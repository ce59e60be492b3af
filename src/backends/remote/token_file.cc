#include "backends/remote/token_file.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace infergate::remote {
namespace {

constexpr size_t kMaxTokenFileBytes = 64 * 1024;

std::string Trimmed(std::string s) {
  const char* space = " \t\r\n";
  s.erase(s.find_last_not_of(space) + 1);
  s.erase(0, s.find_first_not_of(space));
  return s;
}

}  // namespace

TokenFile::Stamp TokenFile::StampOf(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  std::error_code ec;
  return {std::filesystem::last_write_time(path, ec), static_cast<uintmax_t>(st.st_size),
          static_cast<uintmax_t>(st.st_ino)};
}

core::StatusOr<std::shared_ptr<TokenFile>> TokenFile::Open(std::filesystem::path path) {
  std::shared_ptr<TokenFile> file(new TokenFile(std::move(path)));
  RETURN_IF_ERROR(file->Read(StampOf(file->path_)));
  return file;
}

core::Status TokenFile::Read(const Stamp& stamp) {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return core::Unavailable("remote.token_file '" + path_.string() + "' cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > kMaxTokenFileBytes) {
    return core::Unavailable("remote.token_file '" + path_.string() + "' is larger than 64 KiB");
  }
  std::string token = Trimmed(text.str());
  if (token.empty()) return core::Unavailable("remote.token_file '" + path_.string() + "' is empty");
  token_ = std::move(token);
  stamp_ = stamp;
  return core::Status::Ok();
}

std::string TokenFile::Get() {
  const Stamp now = StampOf(path_);
  std::lock_guard lock(mu_);
  if (!(now == stamp_) && now.inode != 0) Read(now).IgnoreError();  // on error: the token read before
  return token_;
}

}  // namespace infergate::remote

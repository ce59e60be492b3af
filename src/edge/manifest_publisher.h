// ManifestPublisher: a model repository on disk as a fleet origin (what
// `GET /v2/repository/manifest` and `GET /v2/repository/files/...` serve).
// The manifest lists each model's regular files (config.yaml, ...) and, per
// published version, the regular files of its folder (subfolders included);
// hidden names are skipped. Each file's sha256 is computed once and kept
// while its FileStamp (size, mtime, inode) stays the same.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "edge/manifest.h"
#include "edge/sha256.h"

namespace infergate::edge {

class ManifestPublisher {
 public:
  // Whether a version is published (the server: it is READY, so a version
  // still being copied in is not); empty: every version folder.
  using Published = std::function<bool(const std::string& model, int64_t version)>;

  ManifestPublisher(std::filesystem::path root, Published published);

  // The manifest of the repository now, with `files_url` set to `files_url`.
  core::StatusOr<Manifest> Build(const std::string& files_url);
  // The file that `files/<model>/<path>` names: NOT_FOUND unless `model` is a
  // model name, `path` passes ValidateFilePath (no "..", no hidden segment,
  // relative) and names a regular file of a published version or of the
  // model's folder.
  core::StatusOr<std::filesystem::path> File(std::string_view model, std::string_view path) const;

 private:
  // `file` as the manifest lists it under `rel`: size and (cached) sha256.
  core::StatusOr<ManifestFile> Describe(const std::filesystem::path& file, std::string rel);
  core::Status AddModel(const std::filesystem::path& dir, const std::string& name, Manifest* out);

  const std::filesystem::path root_;
  const Published published_;
  DigestCache digests_;
};

}  // namespace infergate::edge

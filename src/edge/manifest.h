// The fleet manifest: what an origin serves so that edges can follow its
// model repository (docs/fleet-sync.md defines the format).
//
//   {"format": 1,
//    "files_url": "files/",                      optional, relative to the manifest's URL
//    "models": [{"name": "plant",
//                "files": [{"path": "config.yaml", "size": 120, "sha256": "<64 hex>"}],
//                "versions": [{"version": 3,
//                              "files": [{"path": "model.onnx", "size": 4711, "sha256": "..."}]}]}]}
//
// Model files (config.yaml) sit in the model's folder, version files in the
// version's folder, as in the repository on disk. A file's URL is
// `<files_url><model>/<path>` or `<files_url><model>/<version>/<path>`.
//
// Everything is checked on parse: names are model names, versions positive
// and unique, paths relative with no "." / ".." / hidden / empty segment
// (a manifest can never name a file outside its folder), sha256 64 hex
// digits. Errors name the model, version and file.
//
// Thread-safety: value types and pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace infergate::edge {

struct ManifestFile {
  std::string path;    // relative, '/'-separated
  uint64_t size = 0;   // bytes
  std::string sha256;  // lowercase hex
  bool operator==(const ManifestFile&) const = default;
};

struct ManifestVersion {
  int64_t version = 0;
  std::vector<ManifestFile> files;
  bool operator==(const ManifestVersion&) const = default;
};

struct ManifestModel {
  std::string name;
  std::vector<ManifestFile> files;  // in the model's folder (config.yaml)
  std::vector<ManifestVersion> versions;
  bool operator==(const ManifestModel&) const = default;
};

struct Manifest {
  std::string files_url;  // empty: the manifest's folder
  std::vector<ManifestModel> models;
  bool operator==(const Manifest&) const = default;
};

inline constexpr size_t kMaxManifestBytes = 16 << 20;
inline constexpr uint64_t kMaxManifestFileBytes = uint64_t{1} << 40;

core::StatusOr<Manifest> ParseManifest(std::string_view json);
std::string ManifestJson(const Manifest& manifest);

// OK when `path` is a relative path of 1 to 8 segments, each non-empty, not
// starting with '.', free of '\', NUL and control bytes; `model_level`: its
// first segment is also not a version folder name (digits only).
core::Status ValidateFilePath(std::string_view path, bool model_level);

// The version a folder name stands for (a positive integer), or nullopt.
std::optional<int64_t> VersionFolder(std::string_view name);

// `reference` resolved against `base` (an absolute http(s) URL) as RFC 3986
// does for the forms a manifest uses: absolute URLs, absolute paths
// ("/x/y") and relative paths ("files/", "a/b").
std::string ResolveUrl(const std::string& base, const std::string& reference);
// `path`'s segments percent-encoded (unreserved characters and '/' kept).
std::string EncodePath(std::string_view path);

}  // namespace infergate::edge

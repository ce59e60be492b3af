// Fetcher: how fleet model sync reads its origin (an interface, so that
// tests drive ModelSync with files in memory; HttpFetcher is the real one),
// and the reasons a sync step fails (the `reason` label of
// infergate_model_sync_failures_total).
//
// Thread-safety: a Fetcher is used by one thread (the sync thread).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"

namespace infergate::edge {

enum class SyncFailure {
  kUnreachable,     // connect, TLS, time-out, connection reset before the body
  kHttpStatus,      // the origin answered other than 200
  kBadManifest,     // not JSON, or not the manifest format
  kSizeMismatch,    // more bytes than the manifest says
  kTruncated,       // fewer bytes than the manifest says
  kSha256Mismatch,  // the bytes' sha256 differs from the manifest's
  kDoesNotLoad,     // verified bytes the backend cannot load
  kDisk,            // the staging folder or the rename failed
};
inline constexpr int kSyncFailureCount = static_cast<int>(SyncFailure::kDisk) + 1;
// "unreachable", "http_status", "bad_manifest", "size_mismatch", "truncated",
// "sha256_mismatch", "does_not_load", "disk".
std::string_view SyncFailureName(SyncFailure failure);

class Fetcher {
 public:
  virtual ~Fetcher() = default;
  // GET `url` into `*body` (at most `max_bytes`). On error `*why` says which kind.
  virtual core::Status Get(const std::string& url, size_t max_bytes, std::string* body, SyncFailure* why) = 0;
  // GET `url` into `file` (created or truncated), which must come to exactly
  // `size` bytes: fewer is kTruncated, more kSizeMismatch.
  virtual core::Status Download(const std::string& url, const std::filesystem::path& file, uint64_t size,
                                SyncFailure* why) = 0;
};

}  // namespace infergate::edge

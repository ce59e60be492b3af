// Bearer tokens: what a tokens file entry says (name, the token's SHA-256,
// scopes, model globs), the checks each field must pass, and the set of
// entries a Policy (policy.h) looks presented tokens up in. The token itself
// is never stored: only its SHA-256.
//
// Thread-safety: TokenSet is immutable once made; every function and const
// method may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace infergate::auth {

// What a token may do; a token holds any combination (scopes do not imply
// one another: an admin-only token cannot infer or read).
enum class Scope : uint8_t {
  kInfer = 1,  // inference, device telemetry
  kRead = 2,   // server and model metadata, readiness, config, statistics, index, /metrics
  kAdmin = 4,  // repository load/unload, shared memory
};
std::string_view ScopeName(Scope scope);
// "infer" | "read" | "admin"; INVALID_ARGUMENT naming the known ones.
core::StatusOr<Scope> ParseScope(std::string_view name);

using Digest = std::array<uint8_t, 32>;  // SHA-256

Digest Sha256(std::string_view data);
std::string HexDigest(const Digest& digest);
// 64 hex characters (either case); INVALID_ARGUMENT otherwise.
core::StatusOr<Digest> ParseHexDigest(std::string_view hex);

// 1 to 64 letters, digits, '-', '_' or '.' (names appear in logs, metrics
// and replies); INVALID_ARGUMENT otherwise.
core::Status ValidateTokenName(std::string_view name);

// A model glob: '*' (any run of characters) and '?' (one), the rest literal.
// OK when non-empty, at most 255 bytes, with no '/', '[', ']', '\' or control
// character; INVALID_ARGUMENT naming the problem.
core::Status ValidateModelGlob(std::string_view glob);
// Whether `name` matches `glob` (linear time in practice: no backtracking
// beyond the last '*').
bool GlobMatch(std::string_view glob, std::string_view name);

struct TokenEntry {
  std::string name;
  Digest sha256{};
  uint8_t scopes = 0;               // Scope bits
  std::vector<std::string> models;  // globs; empty: every model
  int line = 0;                     // where the entry starts in its file (errors), 0: unknown

  bool Has(Scope s) const { return (scopes & static_cast<uint8_t>(s)) != 0; }
  bool AllowsModel(std::string_view model) const;
};

class TokenSet {
 public:
  // Checks every entry (a valid name, at least one scope, well-formed globs) and
  // that names and hashes are unique; INVALID_ARGUMENT naming `origin`, the
  // entry and its line otherwise.
  static core::StatusOr<std::shared_ptr<const TokenSet>> Create(std::vector<TokenEntry> entries,
                                                                std::string_view origin);

  // The entry whose hash is `digest`, or null. Compares against every entry
  // with CRYPTO_memcmp and does not stop at a match, so the time taken does
  // not tell how much of a hash matched or which entry did.
  const TokenEntry* Find(const Digest& digest) const;

  const std::vector<TokenEntry>& entries() const { return entries_; }

 private:
  explicit TokenSet(std::vector<TokenEntry> entries) : entries_(std::move(entries)) {}
  std::vector<TokenEntry> entries_;
};

// A fresh token: 32 bytes from RAND_bytes, base64url without padding (43
// characters). INTERNAL when the random generator fails.
core::StatusOr<std::string> NewToken();

// The tokens file entry for `entry` as YAML (a one-element list), to paste.
std::string TokenEntryYaml(const TokenEntry& entry);

}  // namespace infergate::auth

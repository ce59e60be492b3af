// The tokens file (auth.tokens_file) as auth::TokenEntry values:
//
//   - name: plant-3-devices
//     sha256: <64 hex characters: the SHA-256 of the token>
//     scopes: [infer]            # infer | read | admin
//     models: ["vibration_*"]    # optional globs; default every model
//
// Errors name the file, the line and the entry. What holds across entries
// (unique names and hashes) is checked by auth::TokenSet::Create.
//
// Thread-safety: pure functions; any thread.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "auth/token.h"
#include "core/status.h"

namespace infergate::config {

core::StatusOr<std::vector<auth::TokenEntry>> ParseTokens(std::string_view yaml,
                                                          std::string_view origin);
core::StatusOr<std::vector<auth::TokenEntry>> ParseTokensFile(const std::filesystem::path& file);

}  // namespace infergate::config

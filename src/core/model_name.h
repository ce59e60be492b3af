// Model names as the repository API receives them (HTTP path segment, gRPC
// field): a model is a folder of the repository, so its name must be a valid
// folder name before it reaches the file system or the repository's index.
//
// Thread-safety: pure functions; any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace infergate::core {

// The longest folder name common file systems allow (NAME_MAX).
inline constexpr size_t kMaxModelNameBytes = 255;

// OK when `name` is non-empty, at most kMaxModelNameBytes bytes, has no NUL
// or other control character (0x00-0x1f, 0x7f) and no '/', and is not "." or
// "..". Otherwise INVALID_ARGUMENT naming the problem, with the name shown
// escaped (EscapeModelName).
Status ValidateModelName(std::string_view name);

// `name` fit to quote in a message: control bytes and '\' as \xNN, cut to
// the first 64 bytes with "..." after when longer.
std::string EscapeModelName(std::string_view name);

}  // namespace infergate::core

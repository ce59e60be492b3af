// A whole file read into memory. Internal to the backend: the loader scans a
// model file's bytes before ORT opens it.
//
// Read, not mapped: the repository is polled while people copy new models
// over old ones, and a mapping of a file that shrinks under it raises SIGBUS
// on the next read of a lost page, which would kill the process. A file
// rewritten while it is read here just yields bytes that do not parse, and
// that load fails with a reason. The cost is one read of the whole file and
// its size in memory for the scan: 0.23 s for 100 MB from the page cache on
// the (busy) 2-core test box, where the mapped scan skipped the weights and
// took under 0.1 ms. A reader that fetches only the pages the scan needs
// with pread would get that back.
//
// Thread-safety: a pure function.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "core/status.h"

namespace infergate::ort {

// NotFound when the file does not exist; InvalidArgument when it is not a
// regular file or cannot be read. The message names the file.
core::StatusOr<std::vector<uint8_t>> ReadFileBytes(const std::filesystem::path& file);

}  // namespace infergate::ort

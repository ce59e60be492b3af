// Helpers shared by the fuzz targets: splitting one fuzz input into the
// pieces a target feeds its parser, and keeping the parsers' logs quiet.
#pragma once

#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace infergate::fuzz {

// The fuzz input as characters.
inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Takes the first byte of *in (0 when empty) and removes it.
inline uint8_t TakeByte(std::string_view* in) {
  if (in->empty()) return 0;
  const auto b = static_cast<uint8_t>(in->front());
  in->remove_prefix(1);
  return b;
}

// Splits `in` at every `separator`, at most `max_parts` parts (the last one
// keeps the rest, separators included).
inline std::vector<std::string_view> Split(std::string_view in, char separator, size_t max_parts) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const size_t pos = in.find(separator);
    if (pos == std::string_view::npos) break;
    parts.push_back(in.substr(0, pos));
    in.remove_prefix(pos + 1);
  }
  parts.push_back(in);
  return parts;
}

// Parsers log what they refuse through spdlog; a fuzzer refuses millions.
inline void QuietLogs() { spdlog::set_level(spdlog::level::off); }

}  // namespace infergate::fuzz

// Defines libFuzzer's entry points for a target whose work is
// `void run(std::string_view input)`; logging is off.
#define INFERGATE_FUZZ_TARGET(run)                                            \
  extern "C" int LLVMFuzzerInitialize(int*, char***) {                        \
    infergate::fuzz::QuietLogs();                                             \
    return 0;                                                                 \
  }                                                                           \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {   \
    run(infergate::fuzz::AsText(data, size));                                 \
    return 0;                                                                 \
  }

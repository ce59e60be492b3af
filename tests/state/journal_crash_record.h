// The records of the journal's crash tests: the child writes them, the test
// checks them byte for byte.
#pragma once

#include <string>

namespace infergate::state {

// Record i: "record <i>:" and i % 512 bytes of i % 251 (some zero bytes).
inline std::string CrashRecord(int i) {
  return "record " + std::to_string(i) + ":" +
         std::string(static_cast<size_t>(i % 512), static_cast<char>(i % 251));
}

}  // namespace infergate::state

// The `infergate serve` command line for tests and benchmarks: every
// listening frontend on a free loopback port (each logs the port it got), so
// servers started side by side, or by tests running in parallel, never
// collide on a default port. Needs INFERGATE_BINARY (set by tests/CMakeLists).
#pragma once

#include <string>
#include <vector>

namespace infergate::testing {

// `infergate serve` with free loopback ports, then `extra`.
inline std::vector<std::string> ServeCommand(const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {INFERGATE_BINARY, "serve", "--http-address", "127.0.0.1", "--http-port", "0",
                                   "--grpc-address", "127.0.0.1", "--grpc-port", "0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

}  // namespace infergate::testing

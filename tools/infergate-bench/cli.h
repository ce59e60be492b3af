// The infergate-bench command line: parses the flags and runs a load run (or
// a sweep of them) or mqtt-echo. Returns the process exit code:
// 0 done, 1 --strict and some request failed, 2 bad flags or a target that
// could not be started.
#pragma once

namespace infergate::bench {

int Main(int argc, char** argv);

}  // namespace infergate::bench

// The command line: `infergate serve ...`, `infergate inspect ...`.
#pragma once

namespace infergate::server {

// Parses argv and runs the chosen subcommand; returns the process exit code.
int Main(int argc, char** argv);

}  // namespace infergate::server

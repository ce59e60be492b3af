// `infergate token new`: makes a fresh random token and prints it once, with
// the tokens file entry (name, sha256, scopes, models) to paste.
//
// Thread-safety: call from the main thread.
#pragma once

#include <ostream>
#include <string>

namespace infergate::server {

struct TokenNewFlags {
  std::string name;
  std::string scopes;  // "infer,read,admin"
  std::string models;  // "vib*,pump_*"; empty: every model
};

// Prints to `out`; errors go to `err`. Returns the exit code.
int RunTokenNew(const TokenNewFlags& flags, std::ostream& out, std::ostream& err);

}  // namespace infergate::server

#include "server/token_command.h"

#include <vector>

#include "auth/token.h"

namespace infergate::server {
namespace {

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t comma = s.find(',', pos);
    if (comma == std::string::npos) comma = s.size();
    std::string item = s.substr(pos, comma - pos);
    const size_t first = item.find_first_not_of(' ');
    const size_t last = item.find_last_not_of(' ');
    out.push_back(first == std::string::npos ? "" : item.substr(first, last + 1 - first));
    pos = comma + 1;
  }
  return out;
}

core::StatusOr<auth::TokenEntry> EntryFor(const TokenNewFlags& flags, const std::string& token) {
  auth::TokenEntry e;
  e.name = flags.name;
  e.sha256 = auth::Sha256(token);
  for (const auto& name : SplitComma(flags.scopes)) {
    ASSIGN_OR_RETURN(auth::Scope scope, auth::ParseScope(name));
    e.scopes |= static_cast<uint8_t>(scope);
  }
  if (!flags.models.empty()) e.models = SplitComma(flags.models);
  // The checks the server makes when it reads the file.
  RETURN_IF_ERROR(auth::TokenSet::Create({e}, "--name/--scopes/--models").status());
  return e;
}

}  // namespace

int RunTokenNew(const TokenNewFlags& flags, std::ostream& out, std::ostream& err) {
  auto token = auth::NewToken();
  if (!token.ok()) {
    err << "infergate token new: " << token.status().message() << "\n";
    return 1;
  }
  auto entry = EntryFor(flags, *token);
  if (!entry.ok()) {
    err << "infergate token new: " << entry.status().message() << "\n";
    return 2;
  }
  out << "token: " << *token << "\n\n"
      << "# The token is shown only this once; the server keeps only its sha256.\n"
      << "# Append this entry to the tokens file (auth.tokens_file); the server re-reads it\n"
      << "# on change and on SIGHUP:\n"
      << auth::TokenEntryYaml(*entry);
  return 0;
}

}  // namespace infergate::server

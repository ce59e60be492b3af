#include "client_security.h"

#include <fstream>
#include <sstream>

namespace infergate::bench {

core::Status CheckClientSecurity(const ClientSecurity& s) {
  if (s.tls_cert.empty() != s.tls_key.empty())
    return core::InvalidArgument("--tls-cert and --tls-key go together");
  if (!s.tls_cert.empty() && s.tls_ca.empty()) {
    return core::InvalidArgument(
        "--tls-cert needs --tls-ca (the CA the server's certificate is checked against)");
  }
  return core::Status::Ok();
}

core::StatusOr<std::string> ReadPemFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::NotFound(path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace infergate::bench

// What the http and grpc targets present to a server that asks for more
// than plain text: TLS (verifying the server against a CA, optionally with
// a client certificate for mutual TLS) and a bearer token.
#pragma once

#include <string>

#include "core/status.h"

namespace infergate::bench {

struct ClientSecurity {
  std::string tls_ca;    // PEM CA file; set: TLS (https / gRPC SslCredentials), the server verified
                         // against it
  std::string tls_cert;  // PEM client certificate (mutual TLS); with tls_key
  std::string tls_key;
  std::string token;  // set: every request carries "Authorization: Bearer <token>"

  bool tls() const { return !tls_ca.empty(); }
};

// --tls-cert without --tls-key (or the reverse), or either without --tls-ca.
core::Status CheckClientSecurity(const ClientSecurity& s);
// A whole file, or NOT_FOUND naming it.
core::StatusOr<std::string> ReadPemFile(const std::string& path);

}  // namespace infergate::bench

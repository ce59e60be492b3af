// The `tls:` blocks of infergate.yaml: the top-level one for both the HTTP
// and gRPC frontends, `http.tls` / `grpc.tls` replacing it for one of them.
// TLS is off while cert_file and key_file are empty.
// docs/configuration.md and examples/infergate.yaml list every key.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace YAML {
class Node;
}

namespace infergate::config {

class YamlReader;

struct TlsConfig {
  std::string cert_file;       // PEM: the server certificate chain
  std::string key_file;        // PEM: its private key
  std::string client_ca_file;  // set: clients must present a certificate signed by it (mutual TLS)
  // Top level only (both frontends):
  double handshake_timeout_secs =
      10;                        // a client that has not finished its handshake by then is closed
  double reload_check_secs = 2;  // how often the files are checked for a change; 0: only on SIGHUP

  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }

  bool operator==(const TlsConfig&) const = default;
};

// `top_level`: the timing keys are allowed (the top-level block).
core::Status ParseTlsConfig(const YamlReader& reader, const YAML::Node& node, bool top_level,
                            TlsConfig* out);
// Relative file names become relative to `base` (the config file's folder).
void ResolveTlsPaths(const std::filesystem::path& base, TlsConfig* config);
// Cert without key (or the reverse), a client CA without a certificate,
// negative times. `where`: "tls", "http.tls" or "grpc.tls".
core::Status ValidateTlsConfig(const TlsConfig& config, std::string_view where);

// What one frontend uses: its own block if it has one, else the top-level one
// (the timing keys always from the top level).
TlsConfig TlsFor(const TlsConfig& top_level, const std::optional<TlsConfig>& own);

}  // namespace infergate::config

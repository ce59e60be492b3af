#include "config/tls_config.h"

#include <yaml-cpp/yaml.h>

#include "config/yaml_util.h"

namespace infergate::config {

core::Status ParseTlsConfig(const YamlReader& r, const YAML::Node& node, bool top_level,
                            TlsConfig* out) {
  if (top_level) {
    RETURN_IF_ERROR(r.CheckKeys(node, "tls",
                                {"cert_file", "key_file", "client_ca_file",
                                 "handshake_timeout_secs", "reload_check_secs"}));
  } else {
    RETURN_IF_ERROR(r.CheckKeys(node, "tls", {"cert_file", "key_file", "client_ca_file"}));
  }
  if (node["cert_file"]) {
    ASSIGN_OR_RETURN(out->cert_file, r.String(node["cert_file"], "cert_file"));
  }
  if (node["key_file"]) {
    ASSIGN_OR_RETURN(out->key_file, r.String(node["key_file"], "key_file"));
  }
  if (node["client_ca_file"]) {
    ASSIGN_OR_RETURN(out->client_ca_file, r.String(node["client_ca_file"], "client_ca_file"));
  }
  if (node["handshake_timeout_secs"]) {
    ASSIGN_OR_RETURN(out->handshake_timeout_secs,
                     r.Double(node["handshake_timeout_secs"], "handshake_timeout_secs"));
    if (out->handshake_timeout_secs <= 0) {
      return r.Error(node["handshake_timeout_secs"], "handshake_timeout_secs", "must be > 0");
    }
  }
  if (node["reload_check_secs"]) {
    ASSIGN_OR_RETURN(out->reload_check_secs,
                     r.Double(node["reload_check_secs"], "reload_check_secs"));
    if (out->reload_check_secs < 0)
      return r.Error(node["reload_check_secs"], "reload_check_secs", "must be >= 0");
  }
  return core::Status::Ok();
}

void ResolveTlsPaths(const std::filesystem::path& base, TlsConfig* c) {
  for (std::string* file : {&c->cert_file, &c->key_file, &c->client_ca_file}) {
    if (!file->empty() && std::filesystem::path(*file).is_relative())
      *file = (base / *file).string();
  }
}

core::Status ValidateTlsConfig(const TlsConfig& c, std::string_view where) {
  const std::string w(where);
  if (c.cert_file.empty() != c.key_file.empty()) {
    return core::InvalidArgument(w + ": " +
                                 (c.cert_file.empty() ? "key_file is set but cert_file is not"
                                                      : "cert_file is set but key_file is not") +
                                 " (--tls-cert and --tls-key go together)");
  }
  if (!c.client_ca_file.empty() && c.cert_file.empty()) {
    return core::InvalidArgument(
        w + ": client_ca_file needs cert_file and key_file (mutual TLS is TLS first)");
  }
  if (c.handshake_timeout_secs <= 0)
    return core::InvalidArgument(w + ": handshake_timeout_secs must be > 0");
  if (c.reload_check_secs < 0) return core::InvalidArgument(w + ": reload_check_secs must be >= 0");
  return core::Status::Ok();
}

TlsConfig TlsFor(const TlsConfig& top_level, const std::optional<TlsConfig>& own) {
  if (!own) return top_level;
  TlsConfig c = *own;
  c.handshake_timeout_secs = top_level.handshake_timeout_secs;
  c.reload_check_secs = top_level.reload_check_secs;
  return c;
}

}  // namespace infergate::config

// `repository_origin:` of infergate.yaml: the origin a fleet's repository
// follows (fleet model sync, src/edge/model_sync.h, docs/fleet-sync.md).
// Off while `url` is empty.
// docs/configuration.md and examples/infergate.yaml list every key.
#pragma once

#include <filesystem>
#include <string>

#include "core/status.h"

namespace YAML {
class Node;
}

namespace infergate::config {

class YamlReader;

struct RepositoryOriginConfig {
  // The manifest's URL (http:// or https://); one ending in '/' means
  // `<url>manifest.json` (a static web server's folder).
  std::string url;
  double poll_secs = 60;      // how often the manifest is fetched
  double timeout_secs = 30;   // connect, and each read or write, may take this long
  std::string token;          // sent as `Authorization: Bearer <token>`; empty: none
  std::string token_file;     // or read from this file (first line); relative: to the config file
  std::string ca_file;        // `tls.ca_file`: PEM CAs for https (empty: the system's)
  // Where downloads are staged before they are moved into place; must be on
  // the repository's file system (a rename moves them). Empty:
  // `<model_repository>/.staging` (hidden folders are not models).
  std::string staging_dir;
  bool prune = false;  // remove local versions the manifest no longer lists

  bool enabled() const { return !url.empty(); }
  bool operator==(const RepositoryOriginConfig&) const = default;
};

core::Status ParseRepositoryOrigin(const YamlReader& reader, const YAML::Node& node,
                                   RepositoryOriginConfig* out);
// Relative token_file, ca_file and staging_dir become relative to `base`.
void ResolveRepositoryOriginPaths(const std::filesystem::path& base, RepositoryOriginConfig* config);
// The url's scheme, positive times, token and token_file not both.
core::Status ValidateRepositoryOrigin(const RepositoryOriginConfig& config);

}  // namespace infergate::config

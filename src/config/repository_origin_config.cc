#include "config/repository_origin_config.h"

#include <yaml-cpp/yaml.h>

#include "config/yaml_util.h"

namespace infergate::config {

core::Status ParseRepositoryOrigin(const YamlReader& r, const YAML::Node& node, RepositoryOriginConfig* out) {
  RETURN_IF_ERROR(r.CheckKeys(node, "repository_origin",
                              {"url", "poll_secs", "timeout_secs", "token", "token_file", "tls", "staging_dir",
                               "prune"}));
  for (auto [key, field] : {std::pair{"url", &out->url}, std::pair{"token", &out->token},
                            std::pair{"token_file", &out->token_file}, std::pair{"staging_dir", &out->staging_dir}}) {
    if (!node[key]) continue;
    ASSIGN_OR_RETURN(*field, r.String(node[key], key));
  }
  if (!out->url.empty() && out->url.rfind("http://", 0) != 0 && out->url.rfind("https://", 0) != 0) {
    return r.Error(node["url"], "url", "must start with http:// or https://");
  }
  for (auto [key, field] : {std::pair{"poll_secs", &out->poll_secs}, std::pair{"timeout_secs", &out->timeout_secs}}) {
    if (!node[key]) continue;
    ASSIGN_OR_RETURN(*field, r.Double(node[key], key));
    if (*field <= 0) return r.Error(node[key], key, "must be > 0");
  }
  if (node["prune"]) {
    ASSIGN_OR_RETURN(out->prune, r.Bool(node["prune"], "prune"));
  }
  if (node["token"] && node["token_file"] && !out->token.empty() && !out->token_file.empty()) {
    return r.Error(node["token_file"], "token_file", "give token or token_file, not both");
  }
  if (const YAML::Node tls = node["tls"]) {
    RETURN_IF_ERROR(r.CheckKeys(tls, "repository_origin.tls", {"ca_file"}));
    if (tls["ca_file"]) {
      ASSIGN_OR_RETURN(out->ca_file, r.String(tls["ca_file"], "ca_file"));
    }
  }
  return core::Status::Ok();
}

void ResolveRepositoryOriginPaths(const std::filesystem::path& base, RepositoryOriginConfig* c) {
  for (std::string* file : {&c->token_file, &c->ca_file, &c->staging_dir}) {
    if (!file->empty() && std::filesystem::path(*file).is_relative()) *file = (base / *file).string();
  }
}

core::Status ValidateRepositoryOrigin(const RepositoryOriginConfig& c) {
  if (!c.enabled()) return core::Status::Ok();
  if (c.url.rfind("http://", 0) != 0 && c.url.rfind("https://", 0) != 0) {
    return core::InvalidArgument("repository_origin.url must start with http:// or https://, got '" + c.url + "'");
  }
  if (c.poll_secs <= 0 || c.timeout_secs <= 0) {
    return core::InvalidArgument("repository_origin.poll_secs and timeout_secs must be > 0");
  }
  if (!c.token.empty() && !c.token_file.empty()) {
    return core::InvalidArgument("repository_origin: give token or token_file, not both");
  }
  return core::Status::Ok();
}

}  // namespace infergate::config

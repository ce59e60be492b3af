#include "config/remote_model_yaml.h"

#include "core/remote_url.h"

namespace infergate::config {
namespace {

using core::Status;

constexpr const char* kRemoteBackend = "remote";
constexpr int64_t kMaxTimeoutMs = 600'000;

Status ParseVersion(const YamlReader& r, const YAML::Node& node, core::RemoteModelConfig* out) {
  if (node.IsNull()) return Status::Ok();  // "version:" with nothing: the remote's choice
  ASSIGN_OR_RETURN(out->version, r.String(node, "remote.version"));
  if (out->version.empty()) return Status::Ok();
  bool digits = out->version.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || out->version.size() > 18 || out->version == "0" || out->version[0] == '0') {
    return r.Error(node, "remote.version", "expected \"\" (the remote's choice) or a positive integer, got '" +
                                               out->version + "'");
  }
  return Status::Ok();
}

Status ParseTls(const YamlReader& r, const YAML::Node& node, core::RemoteModelConfig* out) {
  if (node.IsNull()) return Status::Ok();
  RETURN_IF_ERROR(r.CheckKeys(node, "remote.tls", {"ca_file"}));
  if (node["ca_file"]) {
    ASSIGN_OR_RETURN(out->ca_file, r.String(node["ca_file"], "remote.tls.ca_file"));
  }
  return Status::Ok();
}

}  // namespace

Status ParseRemoteModel(const YamlReader& r, const YAML::Node& node, core::ModelConfig* config) {
  if (!node.IsMap()) return r.Error(node, "remote", "expected a map with url, model, version, timeout_ms, ...");
  RETURN_IF_ERROR(r.CheckKeys(node, "remote", {"url", "model", "version", "timeout_ms", "token_file", "tls"}));
  core::RemoteModelConfig remote;
  remote.model = config->name;
  if (!node["url"]) return r.Error(node, "remote.url", "required (grpc://host:port, http://host:port, ...)");
  ASSIGN_OR_RETURN(remote.url, r.String(node["url"], "remote.url"));
  auto url = core::ParseRemoteUrl(remote.url);
  if (!url.ok()) return r.Error(node["url"], "remote.url", url.status().message());
  if (node["model"]) {
    ASSIGN_OR_RETURN(remote.model, r.String(node["model"], "remote.model"));
    if (remote.model.empty()) return r.Error(node["model"], "remote.model", "must not be empty");
  }
  if (node["version"]) RETURN_IF_ERROR(ParseVersion(r, node["version"], &remote));
  if (node["timeout_ms"]) {
    ASSIGN_OR_RETURN(remote.timeout_ms, r.Int(node["timeout_ms"], "remote.timeout_ms", 1, kMaxTimeoutMs));
  }
  if (node["token_file"]) {
    ASSIGN_OR_RETURN(remote.token_file, r.String(node["token_file"], "remote.token_file"));
  }
  if (node["tls"]) RETURN_IF_ERROR(ParseTls(r, node["tls"], &remote));
  if (!remote.ca_file.empty() && url->protocol == core::RemoteUrl::Protocol::kHttp && !url->tls) {
    return r.Error(node["tls"], "remote.tls.ca_file", "needs an https:// URL, not http://");
  }
  if (config->backend.empty()) config->backend = kRemoteBackend;
  config->remote = std::move(remote);
  return Status::Ok();
}

Status CheckRemoteModel(const YamlReader& r, const YAML::Node& root, const core::ModelConfig& config) {
  if (config.backend == kRemoteBackend && !config.remote) {
    return r.Error(root, "remote", "backend: remote needs a remote: section naming the server (url: ...)");
  }
  if (config.remote && config.backend != kRemoteBackend) {
    return r.Error(root["backend"], "backend",
                   "a model with a remote: section is served by backend: remote, not '" + config.backend + "'");
  }
  return Status::Ok();
}

void ResolveRemotePaths(const std::filesystem::path& dir, core::ModelConfig* config) {
  if (!config->remote) return;
  for (std::string* p : {&config->remote->token_file, &config->remote->ca_file}) {
    if (!p->empty() && std::filesystem::path(*p).is_relative()) *p = (dir / *p).string();
  }
}

}  // namespace infergate::config

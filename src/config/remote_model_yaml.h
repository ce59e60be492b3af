// The `remote:` section of a model's config.yaml (backend: remote) ->
// core::RemoteModelConfig. Part of the config.yaml adapter
// (model_config_yaml.cc); errors name the file, line and key.
#pragma once

#include <filesystem>

#include "config/yaml_util.h"
#include "core/model_config.h"

namespace infergate::config {

// Parses `node` (the remote: map) into config->remote and sets
// config->backend to "remote" when it names none. INVALID_ARGUMENT for an
// unknown key, a URL that does not parse, a version that is not a positive
// integer, a timeout outside 1..600000 ms, a ca_file with a plain-text
// http:// URL, or another backend named.
core::Status ParseRemoteModel(const YamlReader& r, const YAML::Node& node, core::ModelConfig* config);

// Checks a config after parsing: backend: remote needs a remote: section.
core::Status CheckRemoteModel(const YamlReader& r, const YAML::Node& root, const core::ModelConfig& config);

// token_file and ca_file written relative to the model's folder (`dir`)
// become paths from there.
void ResolveRemotePaths(const std::filesystem::path& dir, core::ModelConfig* config);

}  // namespace infergate::config

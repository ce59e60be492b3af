// config.yaml -> core::ModelConfig. The one adapter around yaml-cpp for model
// configuration: its exceptions stop here and become a Status naming the file,
// the line, the key and what was expected.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/model_config.h"
#include "core/status.h"

namespace infergate::config {

// Parses `file`. A missing file gives the defaults (everything to be filled
// from the model file) with `name` = model_name.
core::StatusOr<core::ModelConfig> ParseModelConfigFile(const std::filesystem::path& file,
                                                       const std::string& model_name);

// Parses YAML text; `origin` names it in errors.
core::StatusOr<core::ModelConfig> ParseModelConfig(std::string_view yaml, std::string_view origin,
                                                   const std::string& model_name);

}  // namespace infergate::config

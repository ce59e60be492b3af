// A ModelRepository built the way the server builds it: each model's
// config.yaml parsed by src/config and its device contract checked by the
// pipeline when a version loads. Tests that need to link config and pipeline.
#pragma once

#include <filesystem>
#include <memory>
#include <utility>

#include "config/model_config_yaml.h"
#include "core/model_repository.h"
#include "pipeline/plan.h"

namespace infergate::testing {

inline core::StatusOr<std::unique_ptr<core::ModelRepository>> MakeServedRepository(
    const std::filesystem::path& root, core::Backend* backend) {
  core::ModelRepository::Options o;
  o.root = root;
  if (auto st = o.backends.Add(backend); !st.ok()) return st;
  o.parse_config = &config::ParseModelConfigFile;
  o.check_config = &pipeline::CheckContract;
  return core::ModelRepository::Create(std::move(o));
}

}  // namespace infergate::testing

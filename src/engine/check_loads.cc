// Engine::CheckLoads: a model version tried without entering the repository.
#include "core/backend_registry.h"
#include "core/model_config.h"
#include "engine/engine.h"
#include "pipeline/plan.h"

namespace infergate::engine {

core::Status Engine::CheckLoads(const std::string& model, const std::filesystem::path& config_file,
                                const std::filesystem::path& version_dir) const {
  ASSIGN_OR_RETURN(core::ModelConfig config, options_.parse_config(config_file, model));
  core::BackendRegistry backends;
  for (const auto& backend : backends_) RETURN_IF_ERROR(backends.Add(backend.get()));
  ASSIGN_OR_RETURN(core::Backend * backend, backends.Choose(&config));
  ASSIGN_OR_RETURN(auto instance, backend->Load(version_dir / config.default_model_filename, config.runtime));
  RETURN_IF_ERROR(core::CompleteConfig(instance->signature(), &config).WithPrefix("config.yaml"));
  return pipeline::CheckContract(config).WithPrefix("config.yaml");
}

}  // namespace infergate::engine

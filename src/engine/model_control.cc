#include "engine/model_control.h"

#include "core/model_name.h"

namespace infergate::engine {

ModelControl::ModelControl(core::ModelRepository* repository, ModelControlPolicy policy)
    : repository_(repository), policy_(policy), worker_(kMaxQueued) {}

core::Status ModelControl::Load(std::string model, Done done) {
  return Run(std::move(model), &core::ModelRepository::Load, std::move(done));
}

core::Status ModelControl::Unload(std::string model, Done done) {
  return Run(std::move(model), &core::ModelRepository::Unload, std::move(done));
}

core::Status ModelControl::Run(std::string model, Op op, Done done) {
  if (!policy_.allow_load_unload) {
    return core::FailedPrecondition("loading and unloading models is disabled (model_control_mode: none)");
  }
  // A name that cannot be a model folder is refused before it is queued.
  RETURN_IF_ERROR(core::ValidateModelName(model));
  core::ModelRepository* repository = repository_;
  const bool queued = worker_.Post([repository, op, model = std::move(model), done = std::move(done)] {
    done((repository->*op)(model));
  });
  if (!queued) return core::Unavailable("too many repository requests are waiting; retry later");
  return core::Status::Ok();
}

}  // namespace infergate::engine

// ModelControl: the model repository API (Triton's model repository
// extension: load and unload a model by name) as every frontend offers it.
// One policy decides what the API may do and one worker thread runs what it
// may, so HTTP, gRPC and the frontends to come cannot drift apart.
//
// Thread-safety: Load, Unload and policy() may be called from any thread;
// Stop from the thread that owns the engine.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "core/model_repository.h"
#include "core/status.h"
#include "engine/worker.h"

namespace infergate::engine {

// What the repository API may do.
struct ModelControlPolicy {
  // Load and unload by name (false with model_control_mode: none, where the
  // repository is what the server started with).
  bool allow_load_unload = true;
};

class ModelControl {
 public:
  // Requests that may wait for the worker; more are refused with UNAVAILABLE.
  static constexpr size_t kMaxQueued = 16;
  using Done = std::function<void(core::Status)>;

  // `repository` is not owned and outlives this.
  ModelControl(core::ModelRepository* repository, ModelControlPolicy policy);

  // Loads (or reloads) / unloads `model`. On OK the request was queued and
  // `done` is called exactly once, later, from the worker thread, with the
  // repository's status. Otherwise `done` is dropped uncalled and the status
  // says why: FAILED_PRECONDITION when the policy forbids it, INVALID_ARGUMENT
  // for a name that is not a valid folder name (core::ValidateModelName), UNAVAILABLE when kMaxQueued requests wait or the
  // engine is stopping.
  core::Status Load(std::string model, Done done);
  core::Status Unload(std::string model, Done done);

  const ModelControlPolicy& policy() const { return policy_; }

  // Runs what is queued, then refuses everything. Idempotent.
  void Stop() { worker_.Stop(); }

 private:
  using Op = core::Status (core::ModelRepository::*)(const std::string&);
  core::Status Run(std::string model, Op op, Done done);

  core::ModelRepository* repository_;
  const ModelControlPolicy policy_;
  Worker worker_;
};

}  // namespace infergate::engine

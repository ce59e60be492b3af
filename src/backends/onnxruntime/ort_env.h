// OrtEnvironment: the process's one ONNX Runtime environment, its global
// thread pools and its logging, plus the session options every model of the
// backend is created with. Internal to the backend (it includes ORT); the
// benchmark uses it to build bare sessions with the same settings.
//
// Ownership: shared. The backend, every instance and every output tensor
// hold a shared_ptr, so the environment outlives all sessions and values.
// ORT's environment is a process singleton: Acquire returns the live
// OrtEnvironment when there is one (its options apply, the new ones are
// ignored) and creates a fresh one otherwise.
//
// Thread-safety: Acquire may be called from any thread; env() and
// MakeSessionOptions are safe to call concurrently (they only read).
#pragma once

#include <onnxruntime_cxx_api.h>

#include <memory>
#include <string>
#include <string_view>

#include "backends/onnxruntime/ort_backend.h"
#include "core/model.h"
#include "core/status.h"

namespace infergate::ort {

class OrtEnvironment {
 public:
  static core::StatusOr<std::shared_ptr<OrtEnvironment>> Acquire(const OrtBackendOptions& options);

  ~OrtEnvironment();
  OrtEnvironment(const OrtEnvironment&) = delete;
  OrtEnvironment& operator=(const OrtEnvironment&) = delete;

  Ort::Env& env() { return env_; }
  const OrtBackendOptions& options() const { return options_; }

  // Session options for a model: graph optimisation level from `runtime`,
  // the shared intra-op pool (or a pool of its own when
  // runtime.intra_op_threads > 0), ONNX format only. Errors
  // (InvalidArgument) name the offending value.
  core::StatusOr<Ort::SessionOptions> MakeSessionOptions(const core::RuntimeOptions& runtime) const;

 private:
  explicit OrtEnvironment(const OrtBackendOptions& options);
  core::Status Init();
  static void Log(void* param, OrtLoggingLevel severity, const char* category, const char* logid,
                  const char* code_location, const char* message);

  OrtBackendOptions options_;  // immutable after construction; holds the log sink
  // Declared last so that it is released first: ORT may log while it shuts
  // down, and the callback reads options_.
  Ort::Env env_{nullptr};
};

// Maps "disable", "basic", "extended" and "all"; InvalidArgument otherwise.
core::StatusOr<GraphOptimizationLevel> ParseGraphOptimizationLevel(std::string_view level);

}  // namespace infergate::ort

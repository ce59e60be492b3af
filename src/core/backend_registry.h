// BackendRegistry: the backends a server has, and which one loads a model.
//
// A model's backend is chosen as Triton chooses it: config.yaml's `backend`
// (e.g. "onnxruntime") names it; else its `platform` (e.g.
// "onnxruntime_onnx") names one a backend serves; else the extension of the
// model file (default_model_filename, "model.onnx" -> ".onnx") picks the
// backend that loads such files. A name no backend answers to is a load
// error of the model's versions, never a config parse error.
//
// Thread-safety: Add before use; then every const method may be called from
// any thread.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/model_config.h"
#include "core/status.h"

namespace infergate::core {

class BackendRegistry {
 public:
  // Registers `backend` (not owned, outlives the registry) under its name(),
  // platforms() and file_extensions(). ALREADY_EXISTS when one of them is
  // taken; INVALID_ARGUMENT for a null backend.
  Status Add(Backend* backend);

  // The backend for `config` (see above). Sets config->backend to its name
  // and, when config.yaml gave no platform, config->platform to its first
  // platform. FAILED_PRECONDITION names what was asked for and what this
  // server has, e.g. "no backend 'xgboost' in this server; available:
  // onnxruntime".
  StatusOr<Backend*> Choose(ModelConfig* config) const;

  bool empty() const { return backends_.empty(); }
  // "onnxruntime, ..." in name order.
  std::string Names() const;

 private:
  std::map<std::string, Backend*> backends_;   // by name
  std::map<std::string, Backend*> platforms_;  // by platform
  std::map<std::string, Backend*> extensions_;  // by file extension (".onnx")
};

}  // namespace infergate::core

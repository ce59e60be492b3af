// `infergate inspect PATH [--json]`: what a model is, as the data scientist and
// the IoT architect both need to see it. PATH is a .onnx file, a model folder
// (<model>/config.yaml, <model>/<version>/model.onnx) or a whole repository.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/model_config.h"
#include "core/status.h"

namespace infergate::server {

struct InspectReport {
  std::string model_name;
  std::filesystem::path model_dir;          // empty for a lone .onnx file
  std::filesystem::path file;               // the model file inspected
  int64_t version = 0;                      // 0 for a lone .onnx file
  std::vector<int64_t> versions_on_disk;
  std::vector<int64_t> versions_served;     // by the version policy
  uintmax_t file_size = 0;
  std::string runtime;                      // "onnxruntime 1.30.0"
  bool loads = false;
  std::string load_error;
  std::string config_error;                 // config.yaml problems
  core::ModelSignature signature;
  core::ModelConfig config;                 // effective: config.yaml + filled from the file
};

// Inspects PATH; one report per model (several for a repository). Errors only
// when PATH itself is unusable; a model that fails to load is a report with
// loads == false.
core::StatusOr<std::vector<InspectReport>> Inspect(const std::filesystem::path& path,
                                                   core::Backend& backend);

std::string RenderInspectText(const InspectReport& report);
std::string RenderInspectJson(const std::vector<InspectReport>& reports);

// Runs the subcommand; returns the exit code (0: every model loads).
int RunInspect(const std::filesystem::path& path, bool json);

}  // namespace infergate::server

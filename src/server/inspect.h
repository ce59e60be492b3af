// `infergate inspect PATH [--json]`: what a model is, as the data scientist and
// the IoT architect both need to see it. PATH is a .onnx file, a model folder
// (<model>/config.yaml, <model>/<version>/model.onnx) or a whole repository.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/model_config.h"
#include "core/status.h"

namespace infergate::server {

// The device contract seen from both sides: one example message a device
// sends, the tensors the model then sees, and the reply the device gets
// (from running the model on them when it loads).
struct DeviceView {
  std::string error;            // the contract does not fit the model
  std::string telemetry_json;   // one example message
  int64_t messages = 0;         // such messages before the first inference
  std::vector<core::InferInput> inputs;  // what the model sees
  std::vector<std::string> constants;    // those of `inputs` fed from device.constants
  std::string reply_json;       // what the device is told
  bool reply_sent = true;       // false: the on: rule keeps this one quiet
  std::string run_error;        // running the model on the example failed
};

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
  std::optional<DeviceView> device;         // when config.yaml has a device section
};

// Feeds example readings through the model's contract (and `instance`, when
// not null) to fill a DeviceView.
DeviceView InspectDevice(const core::ModelConfig& config, int64_t version, core::ModelInstance* instance);

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

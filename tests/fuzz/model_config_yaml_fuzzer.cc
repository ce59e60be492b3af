// A model's config.yaml, device contract included, as the repository reads
// it when a version loads: parsed (config/model_config_yaml.h,
// device_contract_yaml.h), completed and checked against a model file's
// signature (core::CompleteConfig), the contract checked and planned
// against the completed config (pipeline/plan.h), and a ContractRunner made
// from it.
#include <string>

#include "config/model_config_yaml.h"
#include "core/model_config.h"
#include "fuzz/fuzz_input.h"
#include "pipeline/contract_runner.h"
#include "pipeline/plan.h"

namespace infergate::fuzz {
namespace {

using core::DataType;

// What a model file could say: a batching classifier with a state pair.
core::ModelSignature Signature() {
  core::ModelSignature s;
  s.inputs = {{"x", DataType::kFp32, {-1, 3}, {"batch", ""}, ""},
              {"v", DataType::kFp32, {-1, 4}, {"batch", ""}, ""},
              {"h_in", DataType::kFp32, {-1, 2}, {"batch", ""}, ""}};
  s.outputs = {{"probs", DataType::kFp32, {-1, 4}, {"batch", ""}, ""},
               {"score", DataType::kFp32, {-1, 1}, {"batch", ""}, ""},
               {"h_out", DataType::kFp32, {-1, 2}, {"batch", ""}, ""}};
  s.opsets[""] = 17;
  return s;
}

void Run(std::string_view yaml) {
  auto config = config::ParseModelConfig(yaml, "config.yaml", "m");
  if (!config.ok()) return;
  (void)config->version_policy.ToString();
  (void)config->version_policy.Select({1, 2, 3, 7});
  static const core::ModelSignature signature = Signature();
  if (!core::CompleteConfig(signature, &*config).ok()) return;
  (void)core::RequestInputSpecs(*config);
  if (!pipeline::CheckContract(*config).ok() || !config->device) return;
  auto plan = pipeline::PlanContract(*config, 1);
  if (!plan.ok()) return;
  core::ManualClock clock;
  core::ManualWallClock wall;
  (void)pipeline::ContractRunner::Create(*config, 1, {&clock, nullptr, &wall});
}

}  // namespace
}  // namespace infergate::fuzz

INFERGATE_FUZZ_TARGET(infergate::fuzz::Run)

// Builds model configs with a device section for the pipeline's tests: the
// YAML goes through the real config parser; inputs and outputs are spelled
// out as CompleteConfig would fill them from a model file.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "config/model_config_yaml.h"
#include "core/model_config.h"

namespace infergate::pipeline::testing {

inline core::ModelConfig ConfigFromYaml(const std::string& yaml) {
  auto c = config::ParseModelConfig(yaml, "config.yaml", "m");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : core::ModelConfig{};
}

// A classifier over 3 features per reading: input x [3], output probs [4].
inline const char* kClassifierYaml = R"(
max_batch_size: 8
input: [{name: x, data_type: FP32, dims: [3]}]
output: [{name: probs, data_type: FP32, dims: [4]}]
device:
  inputs:
    - name: x
      fields:
        - {name: temp, path: sensors.temp, unit: degC, normalize: {mean: 20, std: 5}}
        - {name: rpm, type: int, normalize: {min: 0, max: 3000}, missing: last}
        - {name: load, missing: {default: 0.5}}
  result:
    labels: [normal, bearing_wear, overheating, imbalance]
    top_k: 2
    alert_labels: [bearing_wear, overheating, imbalance]
    on: change
)";

}  // namespace infergate::pipeline::testing

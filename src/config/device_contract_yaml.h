// The `device:` section of a model's config.yaml -> core::DeviceContract.
// Part of the model config adapter (model_config_yaml.cc calls it); errors
// name the origin, the line and the key ("device.window.hop").
#pragma once

#include <yaml-cpp/yaml.h>

#include "config/yaml_util.h"
#include "core/device_contract.h"
#include "core/status.h"

namespace infergate::config {

// Parses `node` (the value of `device:`). Checks what can be checked without
// the model (ranges, combinations of keys); src/pipeline checks the rest
// against the model's inputs and outputs when the version loads.
core::Status ParseDeviceContract(const YamlReader& r, const YAML::Node& node,
                                 core::DeviceContract* out);

}  // namespace infergate::config

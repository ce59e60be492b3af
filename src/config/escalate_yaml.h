// The `escalate:` section of a model's config.yaml -> core::EscalationConfig.
// Part of the config.yaml adapter (model_config_yaml.cc); errors name the
// file, line and key.
#pragma once

#include "config/yaml_util.h"
#include "core/model_config.h"

namespace infergate::config {

// Parses `node` (the escalate: map) into config->escalate:
//   escalate:
//     to: big_model                  # required, a model name of this repository
//     when: {score_below: 0.8}       # or {always: true} or {label_in: [unknown]}
//     timeout_ms: 300                # 1..600000
//     breaker: {failures: 3, open_secs: 10}
// INVALID_ARGUMENT for an unknown key, a missing `to`, a `when` that is not
// exactly one rule, or a value out of range.
core::Status ParseEscalate(const YamlReader& r, const YAML::Node& node, core::ModelConfig* config);

}  // namespace infergate::config

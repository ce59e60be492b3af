#include "config/escalate_yaml.h"

#include <yaml-cpp/yaml.h>

#include "core/model_name.h"

namespace infergate::config {
namespace {

using core::EscalationConfig;
using core::Status;

Status ParseWhen(const YamlReader& r, const YAML::Node& node, EscalationConfig* out) {
  RETURN_IF_ERROR(r.CheckKeys(node, "escalate.when", {"always", "score_below", "label_in"}));
  if (!node.IsMap() || node.size() != 1) {
    return r.Error(node, "escalate.when", "give exactly one of always, score_below, label_in");
  }
  if (node["always"]) {
    ASSIGN_OR_RETURN(bool always, r.Bool(node["always"], "escalate.when.always"));
    if (!always) return r.Error(node, "escalate.when.always", "must be true (remove escalate: to turn it off)");
    out->when = EscalationConfig::When::kAlways;
  } else if (node["score_below"]) {
    out->when = EscalationConfig::When::kScoreBelow;
    ASSIGN_OR_RETURN(out->score_below, r.Double(node["score_below"], "escalate.when.score_below"));
  } else {
    const YAML::Node list = node["label_in"];
    if (!list.IsSequence() || list.size() == 0) {
      return r.Error(list, "escalate.when.label_in", "expected a non-empty list of labels");
    }
    out->when = EscalationConfig::When::kLabelIn;
    for (const auto& item : list) {
      ASSIGN_OR_RETURN(std::string label, r.String(item, "escalate.when.label_in"));
      out->label_in.push_back(std::move(label));
    }
  }
  return Status::Ok();
}

Status ParseBreaker(const YamlReader& r, const YAML::Node& node, EscalationConfig* out) {
  RETURN_IF_ERROR(r.CheckKeys(node, "escalate.breaker", {"failures", "open_secs"}));
  if (node["failures"]) {
    ASSIGN_OR_RETURN(out->breaker_failures, r.Int(node["failures"], "escalate.breaker.failures", 1, 1000000));
  }
  if (node["open_secs"]) {
    ASSIGN_OR_RETURN(out->breaker_open_secs, r.Double(node["open_secs"], "escalate.breaker.open_secs"));
    if (!(out->breaker_open_secs >= 0 && out->breaker_open_secs <= 86400)) {
      return r.Error(node["open_secs"], "escalate.breaker.open_secs", "expected 0..86400 seconds");
    }
  }
  return Status::Ok();
}

}  // namespace

Status ParseEscalate(const YamlReader& r, const YAML::Node& node, core::ModelConfig* config) {
  RETURN_IF_ERROR(r.CheckKeys(node, "escalate", {"to", "when", "timeout_ms", "breaker"}));
  EscalationConfig e;
  if (!node["to"]) return r.Error(node, "escalate.to", "required: the model to escalate to");
  ASSIGN_OR_RETURN(e.to, r.String(node["to"], "escalate.to"));
  if (!core::ValidateModelName(e.to).ok()) {
    return r.Error(node["to"], "escalate.to", "'" + e.to + "' is not a valid model name");
  }
  if (e.to == config->name) return r.Error(node["to"], "escalate.to", "a model cannot escalate to itself");
  if (!node["when"]) return r.Error(node, "escalate.when", "required: {score_below: X}, {always: true} or {label_in: [..]}");
  RETURN_IF_ERROR(ParseWhen(r, node["when"], &e));
  if (node["timeout_ms"]) {
    ASSIGN_OR_RETURN(e.timeout_ms, r.Int(node["timeout_ms"], "escalate.timeout_ms", 1, 600000));
  }
  if (node["breaker"]) RETURN_IF_ERROR(ParseBreaker(r, node["breaker"], &e));
  config->escalate = std::move(e);
  return Status::Ok();
}

}  // namespace infergate::config

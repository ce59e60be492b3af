#include "pipeline/plan.h"

#include <algorithm>
#include <set>

namespace infergate::pipeline {
namespace {

using core::ModelConfig;
using core::Status;
using core::StatusOr;

const core::TensorConfig* Find(const std::vector<core::TensorConfig>& list,
                               const std::string& name) {
  for (const auto& t : list) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::string Names(const std::vector<core::TensorConfig>& list) {
  std::string s;
  for (const auto& t : list) s += (s.empty() ? "'" : ", '") + t.name + "'";
  return s.empty() ? "none" : s;
}

// The dims of one request for `values` elements: `dims` as they are, or with
// its one -1 solved. nullopt when they cannot hold exactly `values`.
std::optional<core::Shape> Resolve(const core::Shape& dims, int64_t values) {
  core::Shape out = dims;
  int64_t known = 1;
  int open = -1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == core::kDynamicDim) {
      if (open >= 0) return std::nullopt;
      open = static_cast<int>(i);
    } else {
      known *= dims[i];
    }
  }
  if (open < 0) return known == values ? std::optional(out) : std::nullopt;
  if (known == 0 || values % known != 0) return std::nullopt;
  out[open] = values / known;
  return out;
}

core::Shape WithBatch(const ModelConfig& config, core::Shape dims) {
  if (config.max_batch_size > 0) dims.insert(dims.begin(), 1);
  return dims;
}

Status PlanInputs(const ModelConfig& config, ContractPlan* plan) {
  std::set<std::string> seen;
  for (const auto& in : plan->contract.inputs) {
    const std::string key = "device.inputs." + in.name;
    const core::TensorConfig* t = Find(config.inputs, in.name);
    if (!t)
      return core::InvalidArgument(key + ": the model has no input '" + in.name +
                                   "' (inputs: " + Names(config.inputs) + ")");
    if (!seen.insert(in.name).second)
      return core::InvalidArgument(key + ": the input is listed twice");
    if (!IsNumeric(t->dtype)) {
      return core::InvalidArgument(key + ": input '" + in.name + "' is " +
                                   std::string(core::DataTypeName(t->dtype)) +
                                   "; telemetry fills numeric inputs only");
    }
    InputPlan p;
    p.name = in.name;
    p.dtype = t->dtype;
    p.offset = plan->row_width;
    std::set<std::string> fields;
    for (const auto& f : in.fields) {
      if (!fields.insert(f.name).second)
        return core::InvalidArgument(key + ": field '" + f.name + "' is listed twice");
      p.width += f.width();
    }
    const int64_t values = p.width * plan->rows;
    auto dims = Resolve(t->dims, values);
    if (!dims) {
      return core::InvalidArgument(key + ": a window of " + std::to_string(plan->rows) +
                                   " reading(s) x " + std::to_string(p.width) + " value(s) gives " +
                                   std::to_string(values) + " values, but input '" + in.name +
                                   "' takes " + core::ShapeToString(t->dims));
    }
    p.shape = WithBatch(config, *dims);
    plan->row_width += p.width;
    plan->inputs.push_back(std::move(p));
  }
  return Status::Ok();
}

bool FilledElsewhere(const ContractPlan& plan, const std::string& input) {
  return std::any_of(plan.inputs.begin(), plan.inputs.end(),
                     [&](const InputPlan& p) { return p.name == input; }) ||
         std::any_of(plan.state.begin(), plan.state.end(),
                     [&](const StatePlan& p) { return p.input == input; });
}

// Each constant against the model input it feeds: the datatype must be the
// input's, and its shape the input's dims (a -1 there takes any size).
Status PlanConstants(const ModelConfig& config, ContractPlan* plan) {
  for (const auto& k : plan->contract.constants) {
    const std::string key = "device.constants." + k.input;
    const core::TensorConfig* t = Find(config.inputs, k.input);
    if (!t)
      return core::InvalidArgument(key + ": the model has no input '" + k.input +
                                   "' (inputs: " + Names(config.inputs) + ")");
    if (FilledElsewhere(*plan, k.input))
      return core::InvalidArgument(key + ": input '" + k.input +
                                   "' is filled from telemetry or state too");
    const core::DataType dtype = core::DataTypeFromName(k.datatype);
    if (dtype != t->dtype) {
      return core::InvalidArgument(key + ".datatype: " + k.datatype + ", but input '" + k.input +
                                   "' is " + std::string(core::DataTypeName(t->dtype)));
    }
    if (!IsNumeric(dtype)) {
      return core::InvalidArgument(key + ".datatype: " + k.datatype +
                                   "; a constant holds numbers");
    }
    const core::Shape shape(k.shape.begin(), k.shape.end());
    bool fits = shape.size() == t->dims.size();
    for (size_t i = 0; fits && i < shape.size(); ++i) {
      fits = t->dims[i] == core::kDynamicDim || t->dims[i] == shape[i];
    }
    if (!fits) {
      return core::InvalidArgument(key + ".shape: " + core::ShapeToString(shape) + ", but input '" +
                                   k.input + "' takes " + core::ShapeToString(t->dims));
    }
    plan->constants.push_back({k.input, dtype, WithBatch(config, shape), k.values});
  }
  return Status::Ok();
}

Status PlanState(const ModelConfig& config, ContractPlan* plan) {
  for (const auto& s : plan->contract.state) {
    const std::string key = "device.state." + s.input;
    const core::TensorConfig* in = Find(config.inputs, s.input);
    const core::TensorConfig* out = Find(config.outputs, s.output);
    if (!in)
      return core::InvalidArgument(key + ": the model has no input '" + s.input +
                                   "' (inputs: " + Names(config.inputs) + ")");
    if (!out)
      return core::InvalidArgument(key + ": the model has no output '" + s.output +
                                   "' (outputs: " + Names(config.outputs) + ")");
    for (const auto& bound : plan->inputs) {
      if (bound.name == s.input)
        return core::InvalidArgument(key + ": input '" + s.input +
                                     "' is filled from telemetry too");
    }
    if (in->dtype != out->dtype || !IsNumeric(in->dtype)) {
      return core::InvalidArgument(key + ": input '" + s.input + "' (" +
                                   std::string(core::DataTypeName(in->dtype)) + ") and output '" +
                                   s.output + "' (" + std::string(core::DataTypeName(out->dtype)) +
                                   ") must have the same numeric type");
    }
    if (core::HasDynamicDim(in->dims) || in->dims != out->dims) {
      return core::InvalidArgument(
          key + ": input '" + s.input + "' " + core::ShapeToString(in->dims) + " and output '" +
          s.output + "' " + core::ShapeToString(out->dims) +
          " must have the same fixed dims (set them in config.yaml if the model leaves them open)");
    }
    StatePlan p;
    p.input = s.input;
    p.output = s.output;
    p.dtype = in->dtype;
    p.shape = WithBatch(config, in->dims);
    p.elements = core::ElementCount(in->dims).value_or(0);
    p.initial = s.initial;
    plan->state.push_back(std::move(p));
  }
  return Status::Ok();
}

Status CheckEveryInputFilled(const ModelConfig& config, const ContractPlan& plan) {
  for (const auto& t : config.inputs) {
    const bool constant = std::any_of(plan.constants.begin(), plan.constants.end(),
                                      [&](const ConstantPlan& k) { return k.input == t.name; });
    if (!constant && !FilledElsewhere(plan, t.name)) {
      return core::InvalidArgument("device.inputs: model input '" + t.name +
                                   "' is filled by neither telemetry (device.inputs), state "
                                   "(device.state) nor a constant (device.constants)");
    }
  }
  return Status::Ok();
}

Status PlanResult(const ModelConfig& config, ContractPlan* plan) {
  auto& r = plan->contract.result;
  if (r.output.empty()) {
    std::vector<std::string> candidates;
    for (const auto& t : config.outputs) {
      bool is_state = std::any_of(plan->state.begin(), plan->state.end(),
                                  [&](const StatePlan& s) { return s.output == t.name; });
      if (!is_state) candidates.push_back(t.name);
    }
    if (candidates.size() != 1) {
      return core::InvalidArgument("device.result.output: the model has outputs " +
                                   Names(config.outputs) +
                                   "; name the one the result is read from");
    }
    r.output = candidates.front();
  }
  const core::TensorConfig* out = Find(config.outputs, r.output);
  if (!out) {
    return core::InvalidArgument("device.result.output: the model has no output '" + r.output +
                                 "' (outputs: " + Names(config.outputs) + ")");
  }
  if (!IsNumeric(out->dtype)) {
    return core::InvalidArgument("device.result.output: output '" + r.output + "' is " +
                                 std::string(core::DataTypeName(out->dtype)) +
                                 "; a result is read from numbers");
  }
  plan->result_dtype = out->dtype;
  plan->result_elements =
      core::HasDynamicDim(out->dims) ? -1 : core::ElementCount(out->dims).value_or(-1);
  const int64_t n = plan->result_elements;
  if (r.kind == core::DeviceResult::Kind::kScore && n > 1) {
    return core::InvalidArgument("device.result: output '" + r.output + "' holds " +
                                 std::to_string(n) +
                                 " values per request; kind score reads one (use kind: classes)");
  }
  if (r.kind == core::DeviceResult::Kind::kClasses && n > 0 && !r.labels.empty() &&
      static_cast<int64_t>(r.labels.size()) != n) {
    return core::InvalidArgument("device.result.labels: " + std::to_string(r.labels.size()) +
                                 " labels, but output '" + r.output + "' holds " +
                                 std::to_string(n) + " class scores");
  }
  return Status::Ok();
}

}  // namespace

bool IsNumeric(core::DataType type) {
  return type != core::DataType::kInvalid && type != core::DataType::kBytes &&
         type != core::DataType::kFp16 && type != core::DataType::kBf16;
}

StatusOr<ContractPlan> PlanContract(const ModelConfig& config, int64_t version) {
  if (!config.device)
    return core::FailedPrecondition("model '" + config.name +
                                    "' has no device section in its config.yaml");
  ContractPlan plan;
  plan.model_name = config.name;
  plan.model_version = version;
  plan.contract = *config.device;
  plan.rows = plan.contract.window.rows();
  if (plan.rows < 1) return core::InvalidArgument("device.window: the window holds no readings");
  RETURN_IF_ERROR(PlanInputs(config, &plan));
  RETURN_IF_ERROR(PlanState(config, &plan));
  RETURN_IF_ERROR(PlanConstants(config, &plan));
  RETURN_IF_ERROR(CheckEveryInputFilled(config, plan));
  RETURN_IF_ERROR(PlanResult(config, &plan));
  return plan;
}

Status CheckContract(const ModelConfig& config) {
  if (!config.device) return Status::Ok();
  return PlanContract(config, 0).status();
}

}  // namespace infergate::pipeline

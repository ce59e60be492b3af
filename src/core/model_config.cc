#include "core/model_config.h"

#include <algorithm>

namespace infergate::core {
namespace {

const TensorSpec* FindSpec(const std::vector<TensorSpec>& specs, const std::string& name) {
  for (const auto& s : specs) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

bool FirstDimDynamic(const std::vector<TensorSpec>& specs) {
  return std::all_of(specs.begin(), specs.end(), [](const TensorSpec& s) {
    return !s.shape.empty() && s.shape[0] == kDynamicDim;
  });
}

// Dims as a request sees them, from the model's full shape.
Shape RequestDims(const Shape& model_shape, bool batched) {
  if (!batched || model_shape.empty()) return model_shape;
  return Shape(model_shape.begin() + 1, model_shape.end());
}

// True when configured dims may be given to a model that declares `model`
// (each configured dim equals the model's or the model's is dynamic).
bool DimsCompatible(const Shape& configured, const Shape& model) {
  if (configured.size() != model.size()) return false;
  for (size_t i = 0; i < model.size(); ++i) {
    if (model[i] != kDynamicDim && configured[i] != model[i]) return false;
  }
  return true;
}

Status CompleteTensors(const char* kind, const std::vector<TensorSpec>& specs, bool batched,
                       std::vector<TensorConfig>* configs, std::set<std::string>* autofilled) {
  for (auto& c : *configs) {
    const TensorSpec* spec = FindSpec(specs, c.name);
    if (!spec) {
      std::string known;
      for (const auto& s : specs) known += (known.empty() ? "'" : ", '") + s.name + "'";
      return InvalidArgument(std::string(kind) + " '" + c.name + "' is not in the model; its " +
                             kind + "s are " + known);
    }
    if (c.dtype == DataType::kInvalid) {
      c.dtype = spec->dtype;
      autofilled->insert(std::string(kind) + "." + c.name + ".data_type");
    } else if (c.dtype != spec->dtype) {
      return InvalidArgument(std::string(kind) + " '" + c.name + "': data_type " +
                             std::string(DataTypeName(c.dtype)) + " but the model declares " +
                             std::string(DataTypeName(spec->dtype)));
    }
    Shape model_dims = RequestDims(spec->shape, batched);
    if (c.dims.empty() && !model_dims.empty()) {
      c.dims = model_dims;
      autofilled->insert(std::string(kind) + "." + c.name + ".dims");
    } else if (!DimsCompatible(c.dims, model_dims)) {
      return InvalidArgument(std::string(kind) + " '" + c.name + "': dims " +
                             ShapeToString(c.dims) + " do not fit the model's " +
                             ShapeToString(model_dims) +
                             (batched ? " (dims exclude the batch dimension)" : ""));
    }
  }
  for (const auto& spec : specs) {
    auto it = std::find_if(configs->begin(), configs->end(),
                           [&](const TensorConfig& c) { return c.name == spec.name; });
    if (it != configs->end()) continue;
    configs->push_back({spec.name, spec.dtype, RequestDims(spec.shape, batched)});
    autofilled->insert(std::string(kind) + "." + spec.name);
  }
  return Status::Ok();
}

}  // namespace

std::vector<int64_t> VersionPolicy::Select(std::vector<int64_t> available) const {
  std::sort(available.begin(), available.end());
  std::vector<int64_t> out;
  switch (kind) {
    case Kind::kAll: out = available; break;
    case Kind::kLatest: {
      size_t n = static_cast<size_t>(std::max<int64_t>(latest, 0));
      size_t from = available.size() > n ? available.size() - n : 0;
      out.assign(available.begin() + from, available.end());
      break;
    }
    case Kind::kSpecific:
      for (int64_t v : available) {
        if (std::find(specific.begin(), specific.end(), v) != specific.end()) out.push_back(v);
      }
      break;
  }
  return out;
}

std::string VersionPolicy::ToString() const {
  switch (kind) {
    case Kind::kAll: return "all";
    case Kind::kLatest: return "latest: " + std::to_string(latest);
    case Kind::kSpecific: {
      std::string s = "specific: [";
      for (size_t i = 0; i < specific.size(); ++i) {
        s += (i ? ", " : "") + std::to_string(specific[i]);
      }
      return s + "]";
    }
  }
  return "";
}

Status CompleteConfig(const ModelSignature& signature, ModelConfig* config) {
  bool can_batch = FirstDimDynamic(signature.inputs) && FirstDimDynamic(signature.outputs);
  if (config->max_batch_size == kUnsetBatchSize) {
    // A model that states its own limit (a remote server's) keeps it.
    int64_t own = signature.max_batch_size >= 0 ? signature.max_batch_size : kDefaultMaxBatchSize;
    config->max_batch_size = can_batch ? own : 0;
    config->autofilled.insert("max_batch_size");
  } else if (config->max_batch_size < 0) {
    return InvalidArgument("max_batch_size must be >= 0, got " +
                           std::to_string(config->max_batch_size));
  } else if (config->max_batch_size > 0 && !can_batch) {
    return InvalidArgument("max_batch_size is " + std::to_string(config->max_batch_size) +
                           " but the model's first dimension is not dynamic in every input and "
                           "output; set max_batch_size: 0");
  }
  bool batched = config->max_batch_size > 0;
  if (config->inputs.empty()) config->autofilled.insert("input");
  if (config->outputs.empty()) config->autofilled.insert("output");
  RETURN_IF_ERROR(CompleteTensors("input", signature.inputs, batched, &config->inputs,
                                  &config->autofilled));
  RETURN_IF_ERROR(CompleteTensors("output", signature.outputs, batched, &config->outputs,
                                  &config->autofilled));
  if (config->instance_count < 1) {
    return InvalidArgument("instance_count must be >= 1, got " +
                           std::to_string(config->instance_count));
  }
  if (config->description.empty() && !signature.description.empty()) {
    config->description = signature.description;
    config->autofilled.insert("description");
  }
  return CheckEscalation(*config).WithPrefix("escalate");
}

Status CheckEscalation(const ModelConfig& config) {
  if (!config.escalate) return Status::Ok();
  const EscalationConfig& e = *config.escalate;
  if (e.to == config.name) return InvalidArgument("to: a model cannot escalate to itself");
  if (e.when == EscalationConfig::When::kAlways) return Status::Ok();
  // The output the rule reads: the device contract's result output, else the first.
  std::string output = config.device ? config.device->result.output : "";
  const TensorConfig* scored = nullptr;
  for (const auto& t : config.outputs) {
    if (output.empty() || t.name == output) {
      scored = &t;
      break;
    }
  }
  if (scored == nullptr) return InvalidArgument("when: the model has no output to score");
  if (scored->dtype == DataType::kBytes) {
    return InvalidArgument("when: output '" + scored->name + "' holds BYTES, not scores; use {always: true}");
  }
  if (e.when == EscalationConfig::When::kLabelIn &&
      (!config.device || config.device->result.kind != DeviceResult::Kind::kClasses)) {
    return InvalidArgument("when.label_in needs a device contract whose result has classes (labels)");
  }
  return Status::Ok();
}

std::vector<TensorSpec> RequestInputSpecs(const ModelConfig& config) {
  std::vector<TensorSpec> specs;
  specs.reserve(config.inputs.size());
  for (const auto& c : config.inputs) {
    TensorSpec s{c.name, c.dtype, c.dims, {}, {}};
    if (config.max_batch_size > 0) s.shape.insert(s.shape.begin(), kDynamicDim);
    specs.push_back(std::move(s));
  }
  return specs;
}

}  // namespace infergate::core

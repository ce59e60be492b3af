#include "backends/onnxruntime/ort_instance.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "backends/onnxruntime/ort_status.h"
#include "backends/onnxruntime/string_tensor.h"
#include "backends/onnxruntime/type_map.h"

namespace infergate::ort {

// Owns one Run's ORT output values; every output tensor of that Run shares
// it. Members are destroyed in reverse order: the values go before the
// session and environment they came from.
struct OrtInstance::OutputHolder {
  std::shared_ptr<Engine> engine;
  // Inputs an output turned out to alias (ORT may hand back a view of an
  // input buffer), kept alive with the output.
  std::vector<core::Tensor> aliased_inputs;
  std::vector<Ort::Value> values;
};

core::StatusOr<std::unique_ptr<core::ModelInstance>> OrtInstance::Create(
    std::shared_ptr<OrtEnvironment> env, std::string file, Ort::Session session,
    core::ModelSignature signature) {
  std::unique_ptr<OrtInstance> instance;
  std::string context = file;
  RETURN_IF_ERROR(CallGuarded(context, OrtPhase::kLoad, [&] {
    instance.reset(new OrtInstance(std::move(env), std::move(file), std::move(session),
                                   std::move(signature)));
    instance->Init();
    return core::Status::Ok();
  }));
  return std::unique_ptr<core::ModelInstance>(std::move(instance));
}

OrtInstance::OrtInstance(std::shared_ptr<OrtEnvironment> env, std::string file,
                         Ort::Session session, core::ModelSignature signature)
    : file_(std::move(file)),
      signature_(std::move(signature)),
      engine_(std::make_shared<Engine>(Engine{std::move(env), std::move(session)})) {}

void OrtInstance::Init() {
  memory_info_ = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  run_options_ = Ort::RunOptions();
  // A failed Run comes back to the caller as a Status, which the caller
  // reports; ORT logging the same failure at ERROR would double every bad
  // request in the log. Warnings from inside a run are dropped with it.
  run_options_.SetRunLogSeverityLevel(ORT_LOGGING_LEVEL_FATAL);
  allocator_ = Ort::AllocatorWithDefaultOptions();
  for (size_t i = 0; i < signature_.outputs.size(); ++i) {
    all_output_names_.push_back(signature_.outputs[i].name.c_str());
    all_output_indices_.push_back(i);
  }
  for (size_t i = 0; i < signature_.inputs.size(); ++i) {
    const core::TensorSpec& spec = signature_.inputs[i];
    for (size_t d = 0; d < spec.dim_names.size() && d < spec.shape.size(); ++d) {
      if (spec.dim_names[d].empty() || spec.shape[d] != core::kDynamicDim) continue;
      auto tie = std::find_if(tied_dims_.begin(), tied_dims_.end(),
                              [&](const TiedDim& t) { return t.name == spec.dim_names[d]; });
      if (tie == tied_dims_.end()) tie = tied_dims_.insert(tied_dims_.end(), {spec.dim_names[d], {}});
      tie->uses.emplace_back(i, d);
    }
  }
  std::erase_if(tied_dims_, [](const TiedDim& t) { return t.uses.size() < 2; });
}

core::Status OrtInstance::CheckTiedDims(const std::vector<core::InferInput>& inputs) const {
  auto dim_of = [&](std::pair<size_t, size_t> use) -> int64_t {
    const std::string& name = signature_.inputs[use.first].name;
    for (const core::InferInput& input : inputs) {
      if (input.name == name) return input.tensor.shape()[use.second];
    }
    return core::kDynamicDim;  // not reached: ValidateInputs found every input
  };
  for (const TiedDim& tie : tied_dims_) {
    const int64_t first = dim_of(tie.uses.front());
    for (size_t u = 1; u < tie.uses.size(); ++u) {
      const int64_t other = dim_of(tie.uses[u]);
      if (other == first) continue;
      return core::InvalidArgument(
          "inputs '" + signature_.inputs[tie.uses.front().first].name + "' and '" +
          signature_.inputs[tie.uses[u].first].name + "' must agree on dimension '" + tie.name +
          "' (" + std::to_string(first) + " vs " + std::to_string(other) + ")");
    }
  }
  return core::Status::Ok();
}

core::Status OrtInstance::Run(const std::vector<core::InferInput>& inputs,
                              const std::vector<std::string>& output_names,
                              std::vector<core::InferOutput>* outputs) {
  core::Status status = core::ValidateInputs(signature_.inputs, inputs);
  if (status.ok() && !tied_dims_.empty()) status = CheckTiedDims(inputs);
  if (status.ok()) {
    status = CallGuarded(file_, OrtPhase::kRun,
                         [&] { return RunValidated(inputs, output_names, outputs); });
  }
  if (!status.ok()) outputs->clear();
  return status;
}

core::Status OrtInstance::ResolveOutputs(const std::vector<std::string>& names,
                                         std::vector<const char*>* c_names,
                                         std::vector<size_t>* indices) const {
  c_names->reserve(names.size());
  indices->reserve(names.size());
  for (const std::string& name : names) {
    size_t i = 0;
    while (i < signature_.outputs.size() && signature_.outputs[i].name != name) ++i;
    if (i == signature_.outputs.size()) return core::NotFound("unknown output '" + name + "'");
    c_names->push_back(signature_.outputs[i].name.c_str());
    indices->push_back(i);
  }
  return core::Status::Ok();
}

Ort::Value OrtInstance::MakeInputValue(const core::Tensor& tensor) const {
  if (tensor.dtype() == core::DataType::kBytes) return MakeOrtStringTensor(tensor, allocator_);
  // ORT reads graph inputs and never writes them; CreateTensor takes a
  // mutable pointer only because the same call wraps caller-provided output
  // buffers. So wrapping the caller's const buffer without a copy is safe.
  void* data = const_cast<uint8_t*>(tensor.data());
  const core::Shape& shape = tensor.shape();
  return Ort::Value::CreateTensor(memory_info_, data, tensor.byte_size(), shape.data(),
                                  shape.size(), OnnxFromDataType(tensor.dtype()));
}

core::Status OrtInstance::RunValidated(const std::vector<core::InferInput>& inputs,
                                       const std::vector<std::string>& output_names,
                                       std::vector<core::InferOutput>* outputs) {
  const char* const* out_names = all_output_names_.data();
  const size_t* out_indices = all_output_indices_.data();
  size_t out_count = all_output_names_.size();
  std::vector<const char*> picked_names;
  std::vector<size_t> picked_indices;
  if (!output_names.empty()) {
    RETURN_IF_ERROR(ResolveOutputs(output_names, &picked_names, &picked_indices));
    out_names = picked_names.data();
    out_indices = picked_indices.data();
    out_count = picked_names.size();
  }

  // Inputs go to ORT in the caller's order (ORT matches them by name), so
  // nothing needs reordering; ValidateInputs made sure each is given once.
  // Names of the usual few inputs stay on the stack.
  constexpr size_t kInlineInputs = 8;
  std::array<const char*, kInlineInputs> inline_names;
  std::vector<const char*> more_names;
  const char** in_names = inline_names.data();
  if (inputs.size() > kInlineInputs) {
    more_names.resize(inputs.size());
    in_names = more_names.data();
  }
  std::vector<Ort::Value> in_values;
  in_values.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    in_names[i] = inputs[i].name.c_str();
    in_values.push_back(MakeInputValue(inputs[i].tensor));
  }

  auto holder = std::make_shared<OutputHolder>();
  holder->engine = engine_;
  holder->values.reserve(out_count);
  for (size_t k = 0; k < out_count; ++k) holder->values.emplace_back(nullptr);
  engine_->session.Run(run_options_, in_names, in_values.data(), in_values.size(), out_names,
                       holder->values.data(), out_count);

  outputs->clear();  // keeps the caller's capacity
  outputs->reserve(out_count);
  for (size_t k = 0; k < out_count; ++k) {
    RETURN_IF_ERROR(AppendOutput(signature_.outputs[out_indices[k]], holder, k, inputs, outputs));
  }
  return core::Status::Ok();
}

core::Status OrtInstance::AppendOutput(const core::TensorSpec& spec,
                                       const std::shared_ptr<OutputHolder>& holder, size_t k,
                                       const std::vector<core::InferInput>& inputs,
                                       std::vector<core::InferOutput>* outputs) const {
  const Ort::Value& value = holder->values[k];
  auto info = value.GetTensorTypeAndShapeInfo();
  if (DataTypeFromOnnx(info.GetElementType()) != spec.dtype) {
    return core::Internal("output '" + spec.name + "' has type tensor(" +
                          OnnxElementTypeName(info.GetElementType()) + "), the signature says " +
                          std::string(core::DataTypeName(spec.dtype)));
  }
  core::Shape shape = info.GetShape();
  if (spec.dtype == core::DataType::kBytes) {
    outputs->push_back({spec.name, CopyOrtStringTensor(value, std::move(shape)), {}});
    return core::Status::Ok();
  }
  const void* data = value.GetTensorRawData();
  const size_t bytes =
      static_cast<size_t>(core::ElementCount(shape).value_or(0)) * core::ElementSize(spec.dtype);
  // ORT may return a view of an input buffer (none of its CPU kernels do
  // today); the output then has to keep that input alive too.
  const auto address = reinterpret_cast<uintptr_t>(data);
  for (const core::InferInput& input : inputs) {
    const auto begin = reinterpret_cast<uintptr_t>(input.tensor.data());
    if (bytes > 0 && address >= begin && address - begin < input.tensor.byte_size()) {
      holder->aliased_inputs.push_back(input.tensor);
    }
  }
  outputs->push_back(
      {spec.name, core::Tensor::Borrow(spec.dtype, std::move(shape), data, bytes, holder), {}});
  return core::Status::Ok();
}

}  // namespace infergate::ort

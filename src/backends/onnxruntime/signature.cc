#include "backends/onnxruntime/signature.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "backends/onnxruntime/ort_status.h"
#include "backends/onnxruntime/type_map.h"

namespace infergate::ort {
namespace {

std::string Take(Ort::AllocatedStringPtr s) { return s ? std::string(s.get()) : std::string(); }

core::Status ReadSpec(const Ort::TypeInfo& type_info, std::string_view what,
                      const std::map<std::string, std::string>& docs, core::TensorSpec* spec) {
  const std::string label = std::string(what) + " '" + spec->name + "'";
  ONNXType kind = type_info.GetONNXType();
  if (kind != ONNX_TYPE_TENSOR) {
    return core::InvalidArgument(label + " is a " + OnnxValueKindName(kind) +
                                 "; only tensor inputs and outputs are supported");
  }
  auto info = type_info.GetTensorTypeAndShapeInfo();
  ONNXTensorElementDataType element = info.GetElementType();
  spec->dtype = DataTypeFromOnnx(element);
  if (spec->dtype == core::DataType::kInvalid) {
    return core::InvalidArgument(label + " has type tensor(" + OnnxElementTypeName(element) +
                                 "), which has no KServe v2 datatype and is not supported");
  }
  spec->shape = info.GetShape();
  for (int64_t& d : spec->shape) {
    if (d < 0) d = core::kDynamicDim;
  }
  std::vector<const char*> symbols(spec->shape.size(), nullptr);
  if (!symbols.empty()) info.GetSymbolicDimensions(symbols.data(), symbols.size());
  spec->dim_names.clear();
  for (const char* s : symbols) spec->dim_names.emplace_back(s ? s : "");
  if (auto doc = docs.find(spec->name); doc != docs.end()) spec->doc = doc->second;
  return core::Status::Ok();
}

core::Status ReadTensors(const Ort::Session& session, const OnnxFileFacts& facts,
                         core::ModelSignature* sig) {
  Ort::AllocatorWithDefaultOptions allocator;
  for (size_t i = 0, n = session.GetInputCount(); i < n; ++i) {
    core::TensorSpec spec;
    spec.name = Take(session.GetInputNameAllocated(i, allocator));
    RETURN_IF_ERROR(ReadSpec(session.GetInputTypeInfo(i), "input", facts.input_docs, &spec));
    sig->inputs.push_back(std::move(spec));
  }
  for (size_t i = 0, n = session.GetOutputCount(); i < n; ++i) {
    core::TensorSpec spec;
    spec.name = Take(session.GetOutputNameAllocated(i, allocator));
    RETURN_IF_ERROR(ReadSpec(session.GetOutputTypeInfo(i), "output", facts.output_docs, &spec));
    sig->outputs.push_back(std::move(spec));
  }
  return core::Status::Ok();
}

void ReadMetadata(const Ort::Session& session, core::ModelSignature* sig) {
  Ort::AllocatorWithDefaultOptions allocator;
  Ort::ModelMetadata metadata = session.GetModelMetadata();
  sig->producer_name = Take(metadata.GetProducerNameAllocated(allocator));
  sig->graph_name = Take(metadata.GetGraphNameAllocated(allocator));
  sig->domain = Take(metadata.GetDomainAllocated(allocator));
  sig->description = Take(metadata.GetDescriptionAllocated(allocator));
  // ORT reports an unset model_version as INT64_MAX; the file's default is 0.
  int64_t version = metadata.GetVersion();
  sig->model_version = version == std::numeric_limits<int64_t>::max() ? 0 : version;
  for (const auto& key : metadata.GetCustomMetadataMapKeysAllocated(allocator)) {
    sig->metadata[key.get()] = Take(metadata.LookupCustomMetadataMapAllocated(key.get(), allocator));
  }
}

}  // namespace

core::StatusOr<core::ModelSignature> ReadSignature(const Ort::Session& session,
                                                   const OnnxFileFacts& facts,
                                                   std::string_view file) {
  core::ModelSignature sig;
  core::Status content;  // what the model declares that infergate cannot serve
  RETURN_IF_ERROR(CallGuarded(file, OrtPhase::kLoad, [&] {
    content = ReadTensors(session, facts, &sig);
    if (content.ok()) ReadMetadata(session, &sig);
    return core::Status::Ok();
  }));
  if (!content.ok()) return content.WithPrefix(file);
  sig.producer_version = facts.producer_version;
  if (facts.well_formed) sig.opsets = facts.opsets;
  return sig;
}

}  // namespace infergate::ort

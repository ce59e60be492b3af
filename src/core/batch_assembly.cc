#include "core/batch_assembly.h"

#include <algorithm>

namespace infergate::core {
namespace {

const InferInput* FindInput(const InferRequest& request, const std::string& name) {
  for (const auto& in : request.inputs) {
    if (in.name == name) return &in;
  }
  return nullptr;
}

const InferOutput* FindOutput(const std::vector<InferOutput>& outputs, const std::string& name) {
  for (const auto& out : outputs) {
    if (out.name == name) return &out;
  }
  return nullptr;
}

StatusOr<InferOutput> Take(const InferOutput& from, std::optional<std::pair<int64_t, int64_t>> rows) {
  if (!rows) return from;
  ASSIGN_OR_RETURN(Tensor slice, from.tensor.SliceRows(rows->first, rows->second));
  return InferOutput{from.name, std::move(slice), from.parameters};
}

}  // namespace

int64_t RequestRows(const InferRequest& request) {
  if (request.inputs.empty() || request.inputs.front().tensor.shape().empty()) return 1;
  return request.inputs.front().tensor.shape().front();
}

std::string BatchKey(const InferRequest& request) {
  std::vector<const InferInput*> inputs;
  inputs.reserve(request.inputs.size());
  for (const auto& in : request.inputs) {
    if (in.tensor.shape().empty()) return "";
    inputs.push_back(&in);
  }
  std::sort(inputs.begin(), inputs.end(),
            [](const InferInput* a, const InferInput* b) { return a->name < b->name; });
  // name, datatype and dims after the first; the length prefix keeps names
  // from running into each other.
  std::string key;
  for (const InferInput* in : inputs) {
    key += std::to_string(in->name.size()) + ':' + in->name + ' ';
    key += DataTypeName(in->tensor.dtype());
    for (size_t d = 1; d < in->tensor.shape().size(); ++d) {
      key += ',' + std::to_string(in->tensor.shape()[d]);
    }
    key += ';';
  }
  return key;
}

StatusOr<std::vector<InferInput>> ConcatInputs(const std::vector<const InferRequest*>& requests) {
  if (requests.empty()) return InvalidArgument("an empty batch has no inputs");
  std::vector<InferInput> joined;
  joined.reserve(requests.front()->inputs.size());
  std::vector<const Tensor*> parts(requests.size());
  for (const auto& first : requests.front()->inputs) {
    for (size_t i = 0; i < requests.size(); ++i) {
      const InferInput* in = FindInput(*requests[i], first.name);
      if (!in) return Internal("a batched request lacks input '" + first.name + "'");
      parts[i] = &in->tensor;
    }
    ASSIGN_OR_RETURN(Tensor tensor, ConcatRows(parts));
    joined.push_back({first.name, std::move(tensor), first.parameters});
  }
  return joined;
}

std::vector<std::string> UnionOfOutputs(const std::vector<const InferRequest*>& requests) {
  std::vector<std::string> names;
  for (const InferRequest* r : requests) {
    if (r->outputs.empty()) return {};
    for (const auto& out : r->outputs) {
      if (std::find(names.begin(), names.end(), out.name) == names.end()) names.push_back(out.name);
    }
  }
  return names;
}

Status CheckBatchOutputs(const std::vector<InferOutput>& outputs, int64_t rows) {
  for (const auto& out : outputs) {
    const Shape& shape = out.tensor.shape();
    if (shape.empty() || shape.front() != rows) {
      return Internal("output '" + out.name + "' has shape " + ShapeToString(shape) +
                      ", which does not have one row per batch row (" + std::to_string(rows) +
                      " rows)");
    }
  }
  return Status::Ok();
}

StatusOr<std::vector<InferOutput>> OutputsFor(const InferRequest& request,
                                              const std::vector<InferOutput>& outputs,
                                              std::optional<std::pair<int64_t, int64_t>> rows) {
  std::vector<InferOutput> mine;
  if (request.outputs.empty()) {
    mine.reserve(outputs.size());
    for (const auto& out : outputs) {
      ASSIGN_OR_RETURN(InferOutput taken, Take(out, rows));
      mine.push_back(std::move(taken));
    }
    return mine;
  }
  mine.reserve(request.outputs.size());
  for (const auto& wanted : request.outputs) {
    const InferOutput* out = FindOutput(outputs, wanted.name);
    if (!out) return Internal("the backend returned no output '" + wanted.name + "'");
    ASSIGN_OR_RETURN(InferOutput taken, Take(*out, rows));
    mine.push_back(std::move(taken));
  }
  return mine;
}

}  // namespace infergate::core

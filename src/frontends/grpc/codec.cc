#include "frontends/grpc/codec.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace infergate::grpc_frontend {
namespace {

using core::DataType;
using core::Status;
using core::StatusOr;

using InputTensor = inference::ModelInferRequest::InferInputTensor;

std::string Quote(const std::string& name) { return "input '" + name + "'"; }

template <typename To, typename From>
Status Narrow(const google::protobuf::RepeatedField<From>& values, const std::string& what,
              std::vector<uint8_t>* bytes) {
  bytes->resize(static_cast<size_t>(values.size()) * sizeof(To));
  To* out = reinterpret_cast<To*>(bytes->data());
  for (int i = 0; i < values.size(); ++i) {
    const From v = values.Get(i);
    if constexpr (!std::is_same_v<To, From>) {
      if (v < static_cast<From>(std::numeric_limits<To>::lowest()) ||
          v > static_cast<From>(std::numeric_limits<To>::max())) {
        return core::InvalidArgument(what + ": element " + std::to_string(i) + " (" + std::to_string(v) +
                                     ") is out of range for its datatype");
      }
    }
    out[i] = static_cast<To>(v);
  }
  return Status::Ok();
}

// Which typed field a datatype uses, and how many values it holds.
int TypedCount(DataType type, const inference::InferTensorContents& c) {
  switch (type) {
    case DataType::kBool: return c.bool_contents_size();
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32: return c.int_contents_size();
    case DataType::kInt64: return c.int64_contents_size();
    case DataType::kUint8:
    case DataType::kUint16:
    case DataType::kUint32: return c.uint_contents_size();
    case DataType::kUint64: return c.uint64_contents_size();
    case DataType::kFp32: return c.fp32_contents_size();
    case DataType::kFp64: return c.fp64_contents_size();
    case DataType::kBytes: return c.bytes_contents_size();
    default: return -1;
  }
}

// Total values in every typed field, to catch a value put in the wrong field.
int AllTypedCount(const inference::InferTensorContents& c) {
  return c.bool_contents_size() + c.int_contents_size() + c.int64_contents_size() +
         c.uint_contents_size() + c.uint64_contents_size() + c.fp32_contents_size() +
         c.fp64_contents_size() + c.bytes_contents_size();
}

Status TypedToBytes(DataType type, const inference::InferTensorContents& c, const std::string& what,
                    std::vector<uint8_t>* bytes) {
  switch (type) {
    case DataType::kBool: {
      bytes->resize(static_cast<size_t>(c.bool_contents_size()));
      for (int i = 0; i < c.bool_contents_size(); ++i) (*bytes)[i] = c.bool_contents(i) ? 1 : 0;
      return Status::Ok();
    }
    case DataType::kInt8: return Narrow<int8_t>(c.int_contents(), what, bytes);
    case DataType::kInt16: return Narrow<int16_t>(c.int_contents(), what, bytes);
    case DataType::kInt32: return Narrow<int32_t>(c.int_contents(), what, bytes);
    case DataType::kInt64: return Narrow<int64_t>(c.int64_contents(), what, bytes);
    case DataType::kUint8: return Narrow<uint8_t>(c.uint_contents(), what, bytes);
    case DataType::kUint16: return Narrow<uint16_t>(c.uint_contents(), what, bytes);
    case DataType::kUint32: return Narrow<uint32_t>(c.uint_contents(), what, bytes);
    case DataType::kUint64: return Narrow<uint64_t>(c.uint64_contents(), what, bytes);
    case DataType::kFp32: return Narrow<float>(c.fp32_contents(), what, bytes);
    case DataType::kFp64: return Narrow<double>(c.fp64_contents(), what, bytes);
    case DataType::kBytes: {
      for (const auto& s : c.bytes_contents()) core::AppendBytesElement(s, bytes);
      return Status::Ok();
    }
    default:
      return core::InvalidArgument(what + ": datatype " + std::string(core::DataTypeName(type)) +
                                   " has no typed contents field; send it in raw_input_contents");
  }
}

StatusOr<core::Shape> DecodeShape(const InputTensor& t, const InputLimits& limits) {
  core::Shape shape(t.shape().begin(), t.shape().end());
  for (int64_t d : shape) {
    if (d < 0) {
      return core::InvalidArgument(Quote(t.name()) + ": shape " + core::ShapeToString(shape) +
                                   " has a negative dimension");
    }
  }
  auto count = core::ElementCount(shape);
  if (!count || *count > limits.max_tensor_elements) {
    return core::ResourceExhausted(Quote(t.name()) + ": shape " + core::ShapeToString(shape) +
                                   " has more than the limit of " +
                                   std::to_string(limits.max_tensor_elements) + " elements");
  }
  return shape;
}

StatusOr<core::Tensor> DecodeTyped(const InputTensor& t, DataType type, const core::Shape& shape) {
  const std::string what = Quote(t.name());
  const int64_t expected = core::ElementCount(shape).value_or(0);
  const int count = TypedCount(type, t.contents());
  if (count >= 0 && count != AllTypedCount(t.contents())) {
    return core::InvalidArgument(what + ": contents are in a field that does not match datatype " +
                                 std::string(core::DataTypeName(type)));
  }
  if (count >= 0 && count != expected) {
    return core::InvalidArgument(what + ": shape " + core::ShapeToString(shape) + " needs " +
                                 std::to_string(expected) + " elements but contents hold " +
                                 std::to_string(count));
  }
  std::vector<uint8_t> bytes;
  RETURN_IF_ERROR(TypedToBytes(type, t.contents(), what, &bytes));
  return core::Tensor::FromBytes(type, shape, std::move(bytes));
}

// Borrows `raw` when `owner` (the message holding it) is given, else copies it.
StatusOr<core::Tensor> DecodeRaw(const InputTensor& t, DataType type, const core::Shape& shape,
                                 const std::string& raw, const std::shared_ptr<const void>& owner) {
  core::Tensor tensor;
  if (owner) {
    tensor = core::Tensor::Borrow(type, shape, raw.data(), raw.size(), owner);
  } else {
    std::vector<uint8_t> bytes(raw.size());
    if (!raw.empty()) std::memcpy(bytes.data(), raw.data(), raw.size());
    tensor = core::Tensor::FromBytes(type, shape, std::move(bytes));
  }
  RETURN_IF_ERROR(tensor.Validate(Quote(t.name()) + " (raw_input_contents)"));
  return tensor;
}

bool HasTypedContents(const InputTensor& t) { return t.has_contents() && AllTypedCount(t.contents()) > 0; }

// True when the input's parameters name a shared memory region (whether the
// rest of its shared memory parameters are right is checked when decoding).
bool NamesRegion(const InputTensor& t) {
  return t.parameters().count("shared_memory_region") > 0;
}

// Decodes input `i`, whose parameters are already in out->parameters and
// whose shared memory window (if any) is `shm`. `raw` is its
// raw_input_contents entry, null when the request has none.
Status DecodeInput(const InputTensor& t, const InputLimits& limits, const core::SharedMemoryRef& shm,
                   const core::SharedMemoryRegistry* registry, const std::string* raw,
                   const std::shared_ptr<const void>& owner, core::InferInput* out) {
  const DataType type = core::DataTypeFromName(t.datatype());
  if (type == DataType::kInvalid) {
    return core::InvalidArgument(Quote(t.name()) + ": unknown datatype '" + t.datatype() + "'");
  }
  ASSIGN_OR_RETURN(core::Shape shape, DecodeShape(t, limits));
  if (!shm.region.empty()) {
    if (HasTypedContents(t)) {
      return core::InvalidArgument(Quote(t.name()) + ": has typed contents and shared memory parameters; "
                                   "use one or the other");
    }
    ASSIGN_OR_RETURN(out->tensor, core::SharedMemoryInput(registry, shm, type, shape, Quote(t.name())));
  } else if (raw) {
    if (HasTypedContents(t)) {
      return core::InvalidArgument(Quote(t.name()) +
                                   ": has typed contents while the request uses raw_input_contents; use one or the other");
    }
    ASSIGN_OR_RETURN(out->tensor, DecodeRaw(t, type, shape, *raw, owner));
  } else {
    ASSIGN_OR_RETURN(out->tensor, DecodeTyped(t, type, shape));
  }
  return Status::Ok();
}

template <typename From, typename To>
void Widen(const core::Tensor& t, google::protobuf::RepeatedField<To>* out) {
  auto values = t.As<From>();
  out->Reserve(static_cast<int>(values.size()));
  for (From v : values) out->AddAlreadyReserved(static_cast<To>(v));
}

Status TensorToTyped(const core::Tensor& t, inference::InferTensorContents* c) {
  switch (t.dtype()) {
    case DataType::kBool: {
      for (uint8_t v : t.bytes()) c->add_bool_contents(v != 0);
      return Status::Ok();
    }
    case DataType::kInt8: Widen<int8_t>(t, c->mutable_int_contents()); return Status::Ok();
    case DataType::kInt16: Widen<int16_t>(t, c->mutable_int_contents()); return Status::Ok();
    case DataType::kInt32: Widen<int32_t>(t, c->mutable_int_contents()); return Status::Ok();
    case DataType::kInt64: Widen<int64_t>(t, c->mutable_int64_contents()); return Status::Ok();
    case DataType::kUint8: Widen<uint8_t>(t, c->mutable_uint_contents()); return Status::Ok();
    case DataType::kUint16: Widen<uint16_t>(t, c->mutable_uint_contents()); return Status::Ok();
    case DataType::kUint32: Widen<uint32_t>(t, c->mutable_uint_contents()); return Status::Ok();
    case DataType::kUint64: Widen<uint64_t>(t, c->mutable_uint64_contents()); return Status::Ok();
    case DataType::kFp32: Widen<float>(t, c->mutable_fp32_contents()); return Status::Ok();
    case DataType::kFp64: Widen<double>(t, c->mutable_fp64_contents()); return Status::Ok();
    case DataType::kBytes: {
      ASSIGN_OR_RETURN(auto elements, t.StringElements());
      for (auto e : elements) c->add_bytes_contents(e.data(), e.size());
      return Status::Ok();
    }
    default:
      return core::Internal("datatype " + std::string(core::DataTypeName(t.dtype())) +
                            " has no typed contents field");
  }
}

bool HasTypedField(DataType type) { return type != DataType::kFp16 && type != DataType::kBf16; }

// Reads every input's name and parameters, and where in shared memory it is
// (an empty ref when it is not).
Status DecodeInputParameters(const inference::ModelInferRequest& in, core::InferRequest* out,
                             std::vector<core::SharedMemoryRef>* shm) {
  out->inputs.resize(static_cast<size_t>(in.inputs_size()));
  shm->resize(out->inputs.size());
  for (int i = 0; i < in.inputs_size(); ++i) {
    const InputTensor& t = in.inputs(i);
    if (t.name().empty()) return core::InvalidArgument("input " + std::to_string(i) + " has no name");
    core::InferInput& input = out->inputs[static_cast<size_t>(i)];
    input.name = t.name();
    RETURN_IF_ERROR(DecodeParameters(t.parameters(), &input.parameters));
    RETURN_IF_ERROR(core::ReadSharedMemoryRef(input.parameters, Quote(t.name()), &(*shm)[static_cast<size_t>(i)]));
  }
  return Status::Ok();
}

Status DecodeOutputs(const inference::ModelInferRequest& in, const core::SharedMemoryRegistry* registry,
                     core::InferRequest* out) {
  out->outputs.resize(static_cast<size_t>(in.outputs_size()));
  for (int i = 0; i < in.outputs_size(); ++i) {
    core::RequestedOutput& output = out->outputs[static_cast<size_t>(i)];
    output.name = in.outputs(i).name();
    RETURN_IF_ERROR(DecodeParameters(in.outputs(i).parameters(), &output.parameters));
    const std::string what = "output '" + output.name + "'";
    core::SharedMemoryRef shm;
    RETURN_IF_ERROR(core::ReadSharedMemoryRef(output.parameters, what, &shm));
    if (!shm.region.empty()) {
      ASSIGN_OR_RETURN(output.destination, core::SharedMemoryOutput(registry, shm, what));
    }
  }
  return Status::Ok();
}

Status DecodeRequest(const inference::ModelInferRequest& in, const InputLimits& limits,
                     const core::SharedMemoryRegistry* registry, const std::shared_ptr<const void>& owner,
                     core::InferRequest* out) {
  if (in.model_name().empty()) return core::InvalidArgument("model_name is empty");
  out->model_name = in.model_name();
  ASSIGN_OR_RETURN(out->model_version, ParseVersion(in.model_version()));
  out->id = in.id();
  RETURN_IF_ERROR(DecodeParameters(in.parameters(), &out->parameters));
  std::vector<core::SharedMemoryRef> shm;
  RETURN_IF_ERROR(DecodeInputParameters(in, out, &shm));
  // raw_input_contents: one entry per input not in shared memory, in order.
  const auto not_in_shm = static_cast<int>(
      std::count_if(shm.begin(), shm.end(), [](const core::SharedMemoryRef& r) { return r.region.empty(); }));
  const int raw_count = in.raw_input_contents_size();
  if (raw_count > 0 && raw_count != not_in_shm) {
    return core::InvalidArgument("raw_input_contents has " + std::to_string(raw_count) + " entries for " +
                                 std::to_string(not_in_shm) +
                                 " inputs not in shared memory; give one per such input, in the order of "
                                 "inputs (an input in shared memory has none)");
  }
  int next_raw = 0;
  for (int i = 0; i < in.inputs_size(); ++i) {
    const core::SharedMemoryRef& ref = shm[static_cast<size_t>(i)];
    const std::string* raw = raw_count > 0 && ref.region.empty() ? &in.raw_input_contents(next_raw++) : nullptr;
    RETURN_IF_ERROR(DecodeInput(in.inputs(i), limits, ref, registry, raw, owner, &out->inputs[static_cast<size_t>(i)]));
  }
  return DecodeOutputs(in, registry, out);
}

}  // namespace

StatusOr<int64_t> ParseVersion(const std::string& version) {
  if (version.empty()) return core::kLatestVersion;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(version.data(), version.data() + version.size(), v);
  if (ec != std::errc() || end != version.data() + version.size() || v <= 0) {
    return core::InvalidArgument("model version must be a positive integer, got '" + version + "'");
  }
  return v;
}

Status DecodeParameters(const google::protobuf::Map<std::string, inference::InferParameter>& in,
                        core::Parameters* out) {
  for (const auto& [key, p] : in) {
    switch (p.parameter_choice_case()) {
      case inference::InferParameter::kBoolParam: (*out)[key] = p.bool_param(); break;
      case inference::InferParameter::kInt64Param: (*out)[key] = p.int64_param(); break;
      case inference::InferParameter::kStringParam: (*out)[key] = p.string_param(); break;
      case inference::InferParameter::kDoubleParam: (*out)[key] = p.double_param(); break;
      case inference::InferParameter::kUint64Param:
        if (p.uint64_param() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return core::InvalidArgument("parameter '" + key + "': uint64 value is above 2^63-1");
        }
        (*out)[key] = static_cast<int64_t>(p.uint64_param());
        break;
      case inference::InferParameter::PARAMETER_CHOICE_NOT_SET:
        return core::InvalidArgument("parameter '" + key + "' has no value");
    }
  }
  return Status::Ok();
}

void EncodeParameters(const core::Parameters& in,
                      google::protobuf::Map<std::string, inference::InferParameter>* out) {
  for (const auto& [key, value] : in) {
    inference::InferParameter& p = (*out)[key];
    std::visit(
        [&p](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, bool>) {
            p.set_bool_param(v);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            p.set_int64_param(v);
          } else if constexpr (std::is_same_v<T, double>) {
            p.set_double_param(v);
          } else {
            p.set_string_param(v);
          }
        },
        value);
  }
}

Status DecodeInferRequest(const inference::ModelInferRequest& in, const InputLimits& limits,
                          const core::SharedMemoryRegistry* shared_memory, core::InferRequest* out) {
  return DecodeRequest(in, limits, shared_memory, nullptr, out);
}

Status DecodeInferRequest(std::shared_ptr<const inference::ModelInferRequest> in, const InputLimits& limits,
                          const core::SharedMemoryRegistry* shared_memory, core::InferRequest* out) {
  const inference::ModelInferRequest& message = *in;
  return DecodeRequest(message, limits, shared_memory, std::move(in), out);
}

ContentsForm ResponseFormFor(const inference::ModelInferRequest& in) {
  if (in.raw_input_contents_size() > 0) return ContentsForm::kRaw;
  for (const auto& t : in.inputs()) {
    if (!NamesRegion(t)) return ContentsForm::kTyped;
  }
  return ContentsForm::kRaw;  // no inputs, or all in shared memory
}

ResponseEncoding ResponseEncodingFor(const inference::ModelInferRequest& in, const core::InferRequest& decoded) {
  ResponseEncoding encoding;
  encoding.form = ResponseFormFor(in);
  encoding.destinations = core::OutputDestinations::Of(decoded);
  return encoding;
}

Status EncodeInferResponse(const core::InferResponse& response, const ResponseEncoding& encoding,
                           inference::ModelInferResponse* out) {
  out->set_model_name(response.model_name);
  out->set_model_version(std::to_string(response.model_version));
  out->set_id(response.id);
  EncodeParameters(response.parameters, out->mutable_parameters());
  ContentsForm form = encoding.form;
  // Checked before anything is written, so a refused reply leaves no output behind.
  for (const auto& o : response.outputs) {
    if (const core::OutputDestination* d = encoding.destinations.Find(o.name)) {
      RETURN_IF_ERROR(core::CheckOutputFits(*d, o.name, o.tensor.byte_size()));
    } else if (!HasTypedField(o.tensor.dtype())) {
      form = ContentsForm::kRaw;
    }
  }
  for (const auto& o : response.outputs) {
    auto* t = out->add_outputs();
    t->set_name(o.name);
    t->set_datatype(std::string(core::DataTypeName(o.tensor.dtype())));
    for (int64_t d : o.tensor.shape()) t->add_shape(d);
    EncodeParameters(o.parameters, t->mutable_parameters());
    if (const core::OutputDestination* d = encoding.destinations.Find(o.name)) {
      RETURN_IF_ERROR(core::WriteOutput(*d, o.name, o.tensor.data(), o.tensor.byte_size()));
      (*t->mutable_parameters())["shared_memory_region"].set_string_param(d->region);
      (*t->mutable_parameters())["shared_memory_byte_size"].set_int64_param(
          static_cast<int64_t>(o.tensor.byte_size()));
      if (form == ContentsForm::kRaw) out->add_raw_output_contents();  // keeps entry i = output i
    } else if (form == ContentsForm::kRaw) {
      out->add_raw_output_contents(reinterpret_cast<const char*>(o.tensor.data()), o.tensor.byte_size());
    } else {
      RETURN_IF_ERROR(TensorToTyped(o.tensor, t->mutable_contents()));
    }
  }
  return Status::Ok();
}

}  // namespace infergate::grpc_frontend

// Decoding v2 inference requests with simdjson On-Demand. simdjson is used
// through its error codes only, so nothing here throws.
#include <simdjson.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "protocol/float16.h"
#include "protocol/json_scalars.h"
#include "protocol/v2_json.h"

namespace infergate::protocol {
namespace {

namespace od = simdjson::ondemand;
using json_scalars::ReadBool;
using json_scalars::ReadDouble;
using json_scalars::ReadFloat;
using json_scalars::ReadHalf;
using json_scalars::ReadSigned;
using json_scalars::ReadUnsigned;
using core::DataType;
using core::Status;

constexpr size_t kMaxRank = 64;
// How deep 'data' may nest arrays. A tensor has at most kMaxRank dimensions,
// so deeper data can never match its shape; the limit keeps the recursive
// walk's stack bounded whatever a client sends.
constexpr size_t kMaxDataDepth = kMaxRank;

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

using core::SharedMemoryRef;

// An input as read from JSON, before its binary data (if any) is attached.
struct InputDraft {
  core::InferInput input;
  DataType dtype = DataType::kInvalid;
  core::Shape shape;
  int64_t binary_size = -1;  // >= 0: the data follows the JSON
  SharedMemoryRef shm;
};

Status CountMismatch(const InputDraft& draft, int64_t count, const std::string& found) {
  return core::InvalidArgument("input " + Quote(draft.input.name) + ": shape " +
                               core::ShapeToString(draft.shape) + " holds " +
                               std::to_string(count) + " elements but 'data' has " + found);
}

// For a fixed-size datatype, INVALID_ARGUMENT unless `given` bytes (what
// `param` says) are exactly what the shape declares. Checked while reading the
// JSON, before any data is copied or allocated. BYTES elements have no fixed
// size; their layout is checked when the tensor is validated.
Status CheckDeclaredBytes(const InputDraft& draft, uint64_t given, const std::string& param) {
  if (draft.dtype == DataType::kBytes) return Status::Ok();
  const auto count = static_cast<uint64_t>(*core::ElementCount(draft.shape));
  const uint64_t elem = core::ElementSize(draft.dtype);
  if (count <= given / elem && count * elem == given) return Status::Ok();
  return core::InvalidArgument("input " + Quote(draft.input.name) + ": shape " +
                               core::ShapeToString(draft.shape) + " holds " +
                               std::to_string(count) + " " +
                               std::string(DataTypeName(draft.dtype)) + " elements of " +
                               std::to_string(elem) + " bytes, but " + param + " is " +
                               std::to_string(given));
}

bool IsStructuralError(simdjson::error_code e) {
  return e != simdjson::INCORRECT_TYPE && e != simdjson::NUMBER_OUT_OF_RANGE &&
         e != simdjson::NO_SUCH_FIELD;
}

// One parse of one request body.
class RequestParser {
 public:
  // `json_length`: the bytes of the JSON part, which bound how many values
  // its 'data' arrays can hold.
  RequestParser(const DecodeLimits& limits, od::document* doc, const char* json,
                size_t json_length)
      : limits_(limits), doc_(doc), json_(json), json_length_(json_length) {}

  // `output_shm` gets one entry per requested output.
  Status ParseRoot(core::InferRequest* request, std::vector<InputDraft>* inputs,
                   std::vector<SharedMemoryRef>* output_shm);
  Status ParseParameters(od::value v, const std::string& where, core::Parameters* out);

 private:
  // The error for `e` met while reading `what`. Structural errors (the text
  // is not JSON) say so with the byte offset; type errors say what was expected.
  Status Fail(simdjson::error_code e, const std::string& what) {
    if (!IsStructuralError(e)) {
      return core::InvalidArgument(what + " (" + simdjson::error_message(e) + ")");
    }
    std::string where;
    const char* at = nullptr;
    if (!doc_->current_location().get(at) && at >= json_) {
      where = " near byte " + std::to_string(at - json_);
    }
    return core::InvalidArgument("malformed JSON" + where + " while reading " + what + ": " +
                                 simdjson::error_message(e));
  }

  Status ParseInput(od::object obj, size_t index, InputDraft* draft);
  Status ParseShape(od::value v, std::string_view input, core::Shape* shape);
  Status ParseData(od::value v, InputDraft* draft);
  Status ParseOutput(od::object obj, size_t index, core::RequestedOutput* out,
                     SharedMemoryRef* shm);

  template <typename Sink>
  Status Walk(od::value v, std::string_view input, Sink& sink, size_t depth = 0);
  template <typename T, typename Read>
  Status ReadFixed(od::value v, InputDraft* draft, int64_t count, Read read);
  Status ReadBytes(od::value v, InputDraft* draft, int64_t count);

  const DecodeLimits& limits_;
  od::document* doc_;
  const char* json_;
  size_t json_length_;
};

Status RequestParser::ParseRoot(core::InferRequest* request, std::vector<InputDraft>* inputs,
                                std::vector<SharedMemoryRef>* output_shm) {
  od::object root;
  if (auto e = doc_->get_object().get(root)) return Fail(e, "the request body: expected a JSON object");
  bool has_inputs = false;
  for (auto field_result : root) {
    od::field field;
    std::string_view key;
    if (auto e = std::move(field_result).get(field)) return Fail(e, "the request object");
    if (auto e = field.unescaped_key().get(key)) return Fail(e, "a key of the request object");
    od::value value = field.value();
    if (key == "id") {
      std::string_view id;
      if (auto e = value.get_string().get(id)) return Fail(e, "'id' must be a string");
      request->id = id;
    } else if (key == "parameters") {
      RETURN_IF_ERROR(ParseParameters(value, "request", &request->parameters));
    } else if (key == "inputs") {
      has_inputs = true;
      od::array arr;
      if (auto e = value.get_array().get(arr)) return Fail(e, "'inputs' must be an array");
      for (auto item : arr) {
        od::object obj;
        if (auto e = item.get_object().get(obj)) {
          return Fail(e, "inputs[" + std::to_string(inputs->size()) + "] must be an object");
        }
        if (inputs->size() >= limits_.max_list_size) {
          return core::ResourceExhausted("more than " + std::to_string(limits_.max_list_size) +
                                         " inputs");
        }
        const size_t index = inputs->size();
        RETURN_IF_ERROR(ParseInput(obj, index, &inputs->emplace_back()));
      }
    } else if (key == "outputs") {
      od::array arr;
      if (auto e = value.get_array().get(arr)) return Fail(e, "'outputs' must be an array");
      for (auto item : arr) {
        od::object obj;
        const size_t i = request->outputs.size();
        if (auto e = item.get_object().get(obj)) {
          return Fail(e, "outputs[" + std::to_string(i) + "] must be an object");
        }
        if (i >= limits_.max_list_size) {
          return core::ResourceExhausted("more than " + std::to_string(limits_.max_list_size) +
                                         " requested outputs");
        }
        RETURN_IF_ERROR(ParseOutput(obj, i, &request->outputs.emplace_back(),
                                    &output_shm->emplace_back()));
      }
    }
    // Other keys are extensions this server does not know; they are skipped.
  }
  // Past the root object the document has no location left; a location
  // means more tokens follow.
  const char* rest = nullptr;
  if (!doc_->current_location().get(rest)) {
    return core::InvalidArgument("malformed JSON near byte " + std::to_string(rest - json_) +
                                 ": content after the request object");
  }
  if (!has_inputs) return core::InvalidArgument("the request has no 'inputs'");
  if (auto it = request->parameters.find("binary_data_output");
      it != request->parameters.end() && !std::holds_alternative<bool>(it->second)) {
    return core::InvalidArgument("request parameter 'binary_data_output' must be a boolean");
  }
  return Status::Ok();
}

Status RequestParser::ParseParameters(od::value v, const std::string& where,
                                      core::Parameters* out) {
  od::object obj;
  if (auto e = v.get_object().get(obj)) return Fail(e, where + " 'parameters' must be an object");
  for (auto field_result : obj) {
    od::field field;
    std::string_view key;
    if (auto e = std::move(field_result).get(field)) return Fail(e, where + " 'parameters'");
    if (auto e = field.unescaped_key().get(key)) return Fail(e, where + " 'parameters'");
    if (out->size() >= limits_.max_list_size) {
      return core::ResourceExhausted(where + " has more than " +
                                     std::to_string(limits_.max_list_size) + " parameters");
    }
    const std::string what = where + " parameter " + Quote(key);
    od::value value = field.value();
    od::json_type type;
    if (auto e = value.type().get(type)) return Fail(e, what);
    core::ParameterValue parsed;
    simdjson::error_code e = simdjson::SUCCESS;
    if (type == od::json_type::boolean) {
      bool b = false;
      e = value.get_bool().get(b);
      parsed = b;
    } else if (type == od::json_type::string) {
      std::string_view s;
      e = value.get_string().get(s);
      parsed = std::string(s);
    } else if (type == od::json_type::number) {
      od::number_type nt;
      e = value.get_number_type().get(nt);
      if (!e && nt == od::number_type::signed_integer) {
        int64_t i = 0;
        e = value.get_int64().get(i);
        parsed = i;
      } else if (!e && nt == od::number_type::unsigned_integer) {
        uint64_t u = 0;
        e = value.get_uint64().get(u);
        parsed = static_cast<double>(u);
      } else if (!e) {
        double d = 0;
        e = value.get_double().get(d);
        parsed = d;
      }
    } else {
      return core::InvalidArgument(what + " must be a boolean, number or string");
    }
    if (e) return Fail(e, what);
    (*out)[std::string(key)] = std::move(parsed);
  }
  return Status::Ok();
}

Status RequestParser::ParseShape(od::value v, std::string_view input, core::Shape* shape) {
  od::array arr;
  auto what = [&] {
    return "input " + Quote(input) + " 'shape' must be an array of non-negative integers";
  };
  if (auto e = v.get_array().get(arr)) return Fail(e, what());
  for (auto item : arr) {
    int64_t dim = 0;
    if (auto e = item.get_int64().get(dim)) return Fail(e, what());
    if (dim < 0) return core::InvalidArgument(what() + ", got " + std::to_string(dim));
    if (shape->size() >= kMaxRank) {
      return core::InvalidArgument("input " + Quote(input) + " 'shape' has more than " +
                                   std::to_string(kMaxRank) + " dimensions");
    }
    shape->push_back(dim);
  }
  return Status::Ok();
}

Status RequestParser::ParseInput(od::object obj, size_t index, InputDraft* draft) {
  auto at = [index] { return "inputs[" + std::to_string(index) + "]"; };
  std::string_view text;
  auto name = obj.find_field_unordered("name");
  if (name.error() == simdjson::NO_SUCH_FIELD) return core::InvalidArgument(at() + " has no 'name'");
  if (auto e = name.get_string().get(text)) return Fail(e, at() + " 'name' must be a string");
  draft->input.name = text;
  auto where = [draft] { return "input " + Quote(draft->input.name); };

  auto datatype = obj.find_field_unordered("datatype");
  if (datatype.error() == simdjson::NO_SUCH_FIELD) {
    return core::InvalidArgument(where() + " has no 'datatype'");
  }
  if (auto e = datatype.get_string().get(text)) return Fail(e, where() + " 'datatype' must be a string");
  draft->dtype = core::DataTypeFromName(text);
  if (draft->dtype == DataType::kInvalid) {
    std::string known;
    for (DataType t : core::kAllDataTypes) known += (known.empty() ? "" : ", ") + std::string(DataTypeName(t));
    return core::InvalidArgument(where() + " has unknown datatype " + Quote(text) + "; expected one of " +
                                 known);
  }

  auto shape = obj.find_field_unordered("shape");
  if (shape.error() == simdjson::NO_SUCH_FIELD) return core::InvalidArgument(where() + " has no 'shape'");
  od::value shape_value;
  if (auto e = shape.get(shape_value)) return Fail(e, where() + " 'shape'");
  RETURN_IF_ERROR(ParseShape(shape_value, draft->input.name, &draft->shape));
  auto count = core::ElementCount(draft->shape);
  if (!count) return core::InvalidArgument(where() + " has shape " + core::ShapeToString(draft->shape) + ", too large");
  if (*count > limits_.max_elements_per_tensor) {
    return core::ResourceExhausted(where() + " has " + std::to_string(*count) +
                                   " elements; the limit is " +
                                   std::to_string(limits_.max_elements_per_tensor));
  }

  auto params = obj.find_field_unordered("parameters");
  if (params.error() != simdjson::NO_SUCH_FIELD) {
    od::value pv;
    if (auto e = params.get(pv)) return Fail(e, where() + " 'parameters'");
    RETURN_IF_ERROR(ParseParameters(pv, where(), &draft->input.parameters));
    const auto& p = draft->input.parameters;
    RETURN_IF_ERROR(core::ReadSharedMemoryRef(p, where(), &draft->shm));
    if (auto it = p.find("binary_data_size"); it != p.end()) {
      const auto* size = std::get_if<int64_t>(&it->second);
      if (!size || *size < 0) {
        return core::InvalidArgument(where() + " parameter 'binary_data_size' must be a non-negative integer");
      }
      draft->binary_size = *size;
    }
    if (!draft->shm.region.empty() && draft->binary_size >= 0) {
      return core::InvalidArgument(where() + " has both shared memory parameters and 'binary_data_size'");
    }
    if (draft->binary_size >= 0) {
      RETURN_IF_ERROR(CheckDeclaredBytes(*draft, static_cast<uint64_t>(draft->binary_size),
                                         "binary_data_size"));
    }
    if (!draft->shm.region.empty()) {
      RETURN_IF_ERROR(CheckDeclaredBytes(*draft, draft->shm.byte_size, "shared_memory_byte_size"));
    }
  }

  auto data = obj.find_field_unordered("data");
  if (data.error() == simdjson::NO_SUCH_FIELD) {
    if (draft->binary_size < 0 && draft->shm.region.empty()) {
      return core::InvalidArgument(where() + " has neither 'data' nor parameter 'binary_data_size' "
                                   "nor 'shared_memory_region'");
    }
    return Status::Ok();
  }
  if (draft->binary_size >= 0) {
    return core::InvalidArgument(where() + " has both 'data' and parameter 'binary_data_size'");
  }
  if (!draft->shm.region.empty()) {
    return core::InvalidArgument(where() + " has both 'data' and parameter 'shared_memory_region'");
  }
  od::value data_value;
  if (auto e = data.get(data_value)) return Fail(e, where() + " 'data'");
  return ParseData(data_value, draft);
}

template <typename Sink>
Status RequestParser::Walk(od::value v, std::string_view input, Sink& sink, size_t depth) {
  auto what = [input] { return "input " + Quote(input) + " 'data'"; };
  od::json_type type;
  if (auto e = v.type().get(type)) return Fail(e, what());
  if (type != od::json_type::array) return sink(v);
  if (depth >= kMaxDataDepth) {
    return core::InvalidArgument("input " + Quote(input) + ": data nested deeper than " +
                                 std::to_string(kMaxDataDepth) + " levels");
  }
  od::array arr;
  if (auto e = v.get_array().get(arr)) return Fail(e, what());
  for (auto item : arr) {
    od::value element;
    if (auto e = item.get(element)) return Fail(e, what());
    RETURN_IF_ERROR(Walk(element, input, sink, depth + 1));
  }
  return Status::Ok();
}

template <typename T, typename Read>
Status RequestParser::ReadFixed(od::value v, InputDraft* draft, int64_t count, Read read) {
  std::vector<uint8_t> bytes(static_cast<size_t>(count) * sizeof(T));
  int64_t n = 0;
  auto sink = [&](od::value& element) -> Status {
    if (n >= count) return CountMismatch(*draft, count, "more");
    T x{};
    if (auto e = read(element, &x)) {
      return Fail(e, "input " + Quote(draft->input.name) + ": data element " + std::to_string(n) +
                         " is not a valid " + std::string(DataTypeName(draft->dtype)));
    }
    std::memcpy(bytes.data() + static_cast<size_t>(n) * sizeof(T), &x, sizeof(T));
    ++n;
    return Status::Ok();
  };
  RETURN_IF_ERROR(Walk(v, draft->input.name, sink));
  if (n != count) return CountMismatch(*draft, count, std::to_string(n));
  draft->input.tensor = core::Tensor::FromBytes(draft->dtype, draft->shape, std::move(bytes));
  return Status::Ok();
}

Status RequestParser::ReadBytes(od::value v, InputDraft* draft, int64_t count) {
  std::vector<uint8_t> bytes;
  int64_t n = 0;
  auto sink = [&](od::value& element) -> Status {
    if (n >= count) return CountMismatch(*draft, count, "more");
    std::string_view s;
    if (auto e = element.get_string().get(s)) {
      return Fail(e, "input " + Quote(draft->input.name) + ": data element " + std::to_string(n) +
                         " is not a string (BYTES elements are JSON strings)");
    }
    core::AppendBytesElement(s, &bytes);
    ++n;
    return Status::Ok();
  };
  RETURN_IF_ERROR(Walk(v, draft->input.name, sink));
  if (n != count) return CountMismatch(*draft, count, std::to_string(n));
  draft->input.tensor = core::Tensor::FromBytes(DataType::kBytes, draft->shape, std::move(bytes));
  return Status::Ok();
}

Status RequestParser::ParseData(od::value v, InputDraft* draft) {
  const int64_t count = *core::ElementCount(draft->shape);
  // Each value takes at least one byte and all but the last a separator, so
  // N bytes of JSON hold at most (N + 1) / 2 values. Checked before the
  // tensor is allocated: a short body cannot make the IO thread allocate and
  // zero a tensor of the largest size the element limit allows.
  const uint64_t most = (static_cast<uint64_t>(json_length_) + 1) / 2;
  if (static_cast<uint64_t>(count) > most) {
    return core::InvalidArgument("input " + Quote(draft->input.name) + ": shape " +
                                 core::ShapeToString(draft->shape) + " declares " +
                                 std::to_string(count) + " elements but the " +
                                 std::to_string(json_length_) +
                                 "-byte JSON body holds at most " + std::to_string(most) +
                                 " values");
  }
  switch (draft->dtype) {
    case DataType::kBool: return ReadFixed<uint8_t>(v, draft, count, ReadBool);
    case DataType::kUint8: return ReadFixed<uint8_t>(v, draft, count, ReadUnsigned<uint8_t>);
    case DataType::kUint16: return ReadFixed<uint16_t>(v, draft, count, ReadUnsigned<uint16_t>);
    case DataType::kUint32: return ReadFixed<uint32_t>(v, draft, count, ReadUnsigned<uint32_t>);
    case DataType::kUint64: return ReadFixed<uint64_t>(v, draft, count, ReadUnsigned<uint64_t>);
    case DataType::kInt8: return ReadFixed<int8_t>(v, draft, count, ReadSigned<int8_t>);
    case DataType::kInt16: return ReadFixed<int16_t>(v, draft, count, ReadSigned<int16_t>);
    case DataType::kInt32: return ReadFixed<int32_t>(v, draft, count, ReadSigned<int32_t>);
    case DataType::kInt64: return ReadFixed<int64_t>(v, draft, count, ReadSigned<int64_t>);
    case DataType::kFp16: return ReadFixed<uint16_t>(v, draft, count, ReadHalf<FloatToHalf>);
    case DataType::kBf16: return ReadFixed<uint16_t>(v, draft, count, ReadHalf<FloatToBf16>);
    case DataType::kFp32: return ReadFixed<float>(v, draft, count, ReadFloat);
    case DataType::kFp64: return ReadFixed<double>(v, draft, count, ReadDouble);
    case DataType::kBytes: return ReadBytes(v, draft, count);
    case DataType::kInvalid: break;
  }
  return core::InvalidArgument("input " + Quote(draft->input.name) + ": invalid datatype");
}

Status RequestParser::ParseOutput(od::object obj, size_t index, core::RequestedOutput* out,
                                  SharedMemoryRef* shm) {
  auto at = [index] { return "outputs[" + std::to_string(index) + "]"; };
  std::string_view text;
  auto name = obj.find_field_unordered("name");
  if (name.error() == simdjson::NO_SUCH_FIELD) return core::InvalidArgument(at() + " has no 'name'");
  if (auto e = name.get_string().get(text)) return Fail(e, at() + " 'name' must be a string");
  out->name = text;
  const std::string where = "output " + Quote(text);
  auto params = obj.find_field_unordered("parameters");
  if (params.error() == simdjson::NO_SUCH_FIELD) return Status::Ok();
  od::value pv;
  if (auto e = params.get(pv)) return Fail(e, where + " 'parameters'");
  RETURN_IF_ERROR(ParseParameters(pv, where, &out->parameters));
  const auto& p = out->parameters;
  if (p.count("classification")) {
    return core::InvalidArgument(where + ": the classification extension is not supported");
  }
  RETURN_IF_ERROR(core::ReadSharedMemoryRef(p, where, shm));
  if (auto it = p.find("binary_data"); it != p.end() && !std::holds_alternative<bool>(it->second)) {
    return core::InvalidArgument(where + " parameter 'binary_data' must be a boolean");
  }
  return Status::Ok();
}

// Attaches the data that does not sit in the JSON: the binary-extension bytes
// after it, and the shared memory windows inputs and outputs name.
Status AttachData(std::string_view body, size_t json_length, const std::shared_ptr<const void>& owner,
                  const core::SharedMemoryRegistry* registry, std::vector<InputDraft>* drafts,
                  const std::vector<SharedMemoryRef>& output_shm, core::InferRequest* request) {
  size_t offset = json_length;
  request->inputs.reserve(drafts->size());
  for (auto& draft : *drafts) {
    if (!draft.shm.region.empty()) {
      ASSIGN_OR_RETURN(draft.input.tensor,
                       core::SharedMemoryInput(registry, draft.shm, draft.dtype, draft.shape,
                                               "input " + Quote(draft.input.name)));
    } else if (draft.binary_size >= 0) {
      const auto size = static_cast<uint64_t>(draft.binary_size);
      if (size > body.size() - offset) {
        return core::InvalidArgument("input " + Quote(draft.input.name) + " declares binary_data_size " + std::to_string(size) +
                                     " but only " + std::to_string(body.size() - offset) +
                                     " bytes of binary data remain");
      }
      const char* data = body.data() + offset;
      if (owner) {
        draft.input.tensor = core::Tensor::BorrowIfAligned(draft.dtype, draft.shape, data, size, owner);
      } else {
        draft.input.tensor = core::Tensor::FromBytes(
            draft.dtype, draft.shape, std::vector<uint8_t>(data, data + size));
      }
      RETURN_IF_ERROR(draft.input.tensor.Validate("input " + Quote(draft.input.name)));
      offset += size;
    }
    request->inputs.push_back(std::move(draft.input));
  }
  if (offset != body.size()) {
    return core::InvalidArgument(std::to_string(body.size() - offset) +
                                 " bytes after the JSON are not claimed by any input's "
                                 "binary_data_size");
  }
  for (size_t i = 0; i < output_shm.size() && i < request->outputs.size(); ++i) {
    const SharedMemoryRef& ref = output_shm[i];
    if (ref.region.empty()) continue;
    core::RequestedOutput& out = request->outputs[i];
    ASSIGN_OR_RETURN(out.destination, core::SharedMemoryOutput(registry, ref, "output " + Quote(out.name)));
  }
  return Status::Ok();
}

}  // namespace

struct InferRequestDecoder::Impl {
  DecodeLimits limits;
  const core::SharedMemoryRegistry* shared_memory = nullptr;
  od::parser parser;
  std::string scratch;  // the JSON part, copied when the body has no padding
};

InferRequestDecoder::InferRequestDecoder(DecodeLimits limits) : impl_(std::make_unique<Impl>()) {
  impl_->limits = limits;
}

InferRequestDecoder::~InferRequestDecoder() = default;

void InferRequestDecoder::set_shared_memory(const core::SharedMemoryRegistry* registry) {
  impl_->shared_memory = registry;
}

Status InferRequestDecoder::Decode(std::string_view body, size_t json_length,
                                   std::shared_ptr<const std::string> owner,
                                   core::InferRequest* request) {
  size_t spare = 0;
  if (owner && (body.data() < owner->data() ||
                body.data() + body.size() > owner->data() + owner->size())) {
    owner = nullptr;  // not the body's owner: copy rather than borrow
  }
  if (owner) spare = static_cast<size_t>(owner->data() + owner->capacity() - body.data()) - body.size();
  return Decode(body, json_length, std::shared_ptr<const void>(std::move(owner)), spare, request);
}

Status InferRequestDecoder::Decode(std::string_view body, size_t json_length,
                                   std::shared_ptr<const void> owner, size_t spare,
                                   core::InferRequest* request) {
  if (json_length > body.size()) {
    return core::InvalidArgument("the JSON part is said to be " + std::to_string(json_length) +
                                 " bytes (" + std::string(kInferenceHeaderContentLength) +
                                 ") but the body has " + std::to_string(body.size()));
  }
  const char* json = body.data();
  // Bytes readable from the JSON's start.
  size_t capacity = owner ? body.size() + spare : 0;
  if (capacity < json_length + simdjson::SIMDJSON_PADDING) {
    impl_->scratch.reserve(json_length + simdjson::SIMDJSON_PADDING);
    impl_->scratch.assign(json, json_length);
    json = impl_->scratch.data();
    capacity = impl_->scratch.capacity();
  }
  od::document doc;
  if (auto e = impl_->parser.iterate(json, json_length, capacity).get(doc)) {
    return core::InvalidArgument(std::string("malformed JSON: ") + simdjson::error_message(e));
  }
  RequestParser parser(impl_->limits, &doc, json, json_length);
  std::vector<InputDraft> drafts;
  std::vector<SharedMemoryRef> output_shm;
  RETURN_IF_ERROR(parser.ParseRoot(request, &drafts, &output_shm));
  return AttachData(body, json_length, owner, impl_->shared_memory, &drafts, output_shm, request);
}

Status DecodeInferRequest(std::string_view body, size_t json_length,
                          std::shared_ptr<const std::string> owner, core::InferRequest* request,
                          const DecodeLimits& limits) {
  InferRequestDecoder decoder(limits);
  return decoder.Decode(body, json_length, std::move(owner), request);
}

core::StatusOr<core::Parameters> DecodeFlatObject(std::string_view json) {
  core::Parameters params;
  if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) return params;
  const simdjson::padded_string padded(json);
  od::parser parser;
  od::document doc;
  if (auto e = parser.iterate(padded).get(doc)) {
    return core::InvalidArgument(std::string("malformed JSON: ") + simdjson::error_message(e));
  }
  od::value root;
  if (auto e = doc.get_value().get(root)) {
    return core::InvalidArgument(std::string("malformed JSON: ") + simdjson::error_message(e));
  }
  DecodeLimits limits;
  RequestParser parser_state(limits, &doc, padded.data(), json.size());
  RETURN_IF_ERROR(parser_state.ParseParameters(root, "the body", &params));
  const char* rest = nullptr;
  if (!doc.current_location().get(rest)) {
    return core::InvalidArgument("malformed JSON: content after the object");
  }
  return params;
}

}  // namespace infergate::protocol

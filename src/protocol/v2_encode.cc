// Encoding v2 inference responses and error bodies, written straight into the
// body string (no document is built).
#include <cstring>

#include "protocol/float16.h"
#include "protocol/json_writer.h"
#include "protocol/v2_json.h"

namespace infergate::protocol {
namespace {

using core::DataType;
using core::Status;

template <typename T, typename Write>
void WriteValues(const core::Tensor& t, Write write) {
  const uint8_t* p = t.data();
  const size_t n = t.byte_size() / sizeof(T);
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, p + i * sizeof(T), sizeof(T));  // the bytes may be unaligned
    write(v);
  }
}

Status WriteData(const core::Tensor& t, JsonWriter* w) {
  w->BeginArray();
  switch (t.dtype()) {
    case DataType::kBool: WriteValues<uint8_t>(t, [&](uint8_t v) { w->Bool(v != 0); }); break;
    case DataType::kUint8: WriteValues<uint8_t>(t, [&](uint8_t v) { w->Uint(v); }); break;
    case DataType::kUint16: WriteValues<uint16_t>(t, [&](uint16_t v) { w->Uint(v); }); break;
    case DataType::kUint32: WriteValues<uint32_t>(t, [&](uint32_t v) { w->Uint(v); }); break;
    case DataType::kUint64: WriteValues<uint64_t>(t, [&](uint64_t v) { w->Uint(v); }); break;
    case DataType::kInt8: WriteValues<int8_t>(t, [&](int8_t v) { w->Int(v); }); break;
    case DataType::kInt16: WriteValues<int16_t>(t, [&](int16_t v) { w->Int(v); }); break;
    case DataType::kInt32: WriteValues<int32_t>(t, [&](int32_t v) { w->Int(v); }); break;
    case DataType::kInt64: WriteValues<int64_t>(t, [&](int64_t v) { w->Int(v); }); break;
    case DataType::kFp16:
      WriteValues<uint16_t>(t, [&](uint16_t v) { w->Float(HalfToFloat(v)); });
      break;
    case DataType::kBf16:
      WriteValues<uint16_t>(t, [&](uint16_t v) { w->Float(Bf16ToFloat(v)); });
      break;
    case DataType::kFp32: WriteValues<float>(t, [&](float v) { w->Float(v); }); break;
    case DataType::kFp64: WriteValues<double>(t, [&](double v) { w->Double(v); }); break;
    case DataType::kBytes: {
      ASSIGN_OR_RETURN(auto elements, t.StringElements());
      for (std::string_view e : elements) w->String(e);
      break;
    }
    case DataType::kInvalid: return core::Internal("an output has an invalid datatype");
  }
  w->EndArray();
  return Status::Ok();
}

void WriteParameterValue(const core::ParameterValue& value, JsonWriter* w) {
  std::visit(
      [w](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, bool>) {
          w->Bool(v);
        } else if constexpr (std::is_same_v<V, int64_t>) {
          w->Int(v);
        } else if constexpr (std::is_same_v<V, double>) {
          w->Double(v);
        } else {
          w->String(v);
        }
      },
      value);
}

void WriteParameters(const core::Parameters& params, JsonWriter* w) {
  w->BeginObject();
  for (const auto& [key, value] : params) {
    w->Key(key);
    WriteParameterValue(value, w);
  }
  w->EndObject();
}

}  // namespace

OutputEncoding OutputEncoding::ForRequest(const core::InferRequest& request) {
  OutputEncoding encoding;
  encoding.destinations_ = core::OutputDestinations::Of(request);
  if (auto it = request.parameters.find("binary_data_output"); it != request.parameters.end()) {
    if (const bool* b = std::get_if<bool>(&it->second)) encoding.set_binary_default(*b);
  }
  for (const auto& out : request.outputs) {
    auto it = out.parameters.find("binary_data");
    if (it == out.parameters.end()) continue;
    if (const bool* b = std::get_if<bool>(&it->second)) encoding.set_binary(out.name, *b);
  }
  return encoding;
}

const core::OutputDestination* OutputEncoding::destination(std::string_view output_name) const {
  return destinations_.Find(output_name);
}

bool OutputEncoding::binary(std::string_view output_name) const {
  if (destination(output_name)) return false;
  for (const auto& [name, binary] : overrides_) {
    if (name == output_name) return binary;
  }
  return binary_default_;
}

Status EncodeInferResponse(const core::InferResponse& response, const OutputEncoding& encoding,
                           EncodedBody* out) {
  std::string& body = out->body;
  body.clear();
  size_t binary_bytes = 0;
  size_t json_estimate = 128;
  for (const auto& o : response.outputs) {
    if (Status st = o.tensor.Validate("output '" + o.name + "'"); !st.ok()) {
      return core::Internal("the model returned a malformed " + st.message());
    }
    if (const core::OutputDestination* d = encoding.destination(o.name)) {
      RETURN_IF_ERROR(core::CheckOutputFits(*d, o.name, o.tensor.byte_size()));
    } else if (encoding.binary(o.name)) {
      binary_bytes += o.tensor.byte_size();
    } else {
      json_estimate += o.tensor.byte_size() * 3 + 64;  // digits per byte, roughly
    }
  }
  body.reserve(json_estimate + binary_bytes);

  JsonWriter w(&body);
  w.BeginObject();
  w.Member("model_name", std::string_view(response.model_name));
  w.Member("model_version", std::string_view(std::to_string(response.model_version)));
  if (!response.id.empty()) w.Member("id", std::string_view(response.id));
  if (!response.parameters.empty()) {
    w.Key("parameters");
    WriteParameters(response.parameters, &w);
  }
  w.Key("outputs");
  w.BeginArray();
  for (const auto& o : response.outputs) {
    w.BeginObject();
    w.Member("name", std::string_view(o.name));
    w.Member("datatype", DataTypeName(o.tensor.dtype()));
    w.Key("shape");
    w.BeginArray();
    for (int64_t d : o.tensor.shape()) w.Int(d);
    w.EndArray();
    const bool binary = encoding.binary(o.name);
    const core::OutputDestination* shm = encoding.destination(o.name);
    if (binary || shm || !o.parameters.empty()) {
      w.Key("parameters");
      w.BeginObject();
      for (const auto& [key, value] : o.parameters) {
        if (key == "binary_data_size") continue;
        w.Key(key);
        WriteParameterValue(value, &w);
      }
      if (binary) w.Member("binary_data_size", static_cast<int64_t>(o.tensor.byte_size()));
      if (shm) {
        w.Member("shared_memory_region", std::string_view(shm->region));
        w.Member("shared_memory_byte_size", static_cast<int64_t>(o.tensor.byte_size()));
      }
      w.EndObject();
    }
    if (shm) {
      RETURN_IF_ERROR(core::WriteOutput(*shm, o.name, o.tensor.data(), o.tensor.byte_size()));
    } else if (!binary) {
      w.Key("data");
      RETURN_IF_ERROR(WriteData(o.tensor, &w));
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  out->json_length = body.size();
  for (const auto& o : response.outputs) {
    if (!encoding.binary(o.name)) continue;
    body.append(reinterpret_cast<const char*>(o.tensor.data()), o.tensor.byte_size());
  }
  return Status::Ok();
}

std::string EncodeError(std::string_view message) {
  std::string body;
  body.reserve(message.size() + 16);
  JsonWriter w(&body);
  w.BeginObject();
  w.Member("error", message);
  w.EndObject();
  return body;
}

}  // namespace infergate::protocol

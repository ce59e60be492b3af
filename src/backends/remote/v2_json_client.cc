#include "backends/remote/v2_json_client.h"

#include <nlohmann/json.hpp>

#include <cstring>

#include "protocol/float16.h"

namespace infergate::remote {
namespace {

using core::DataType;
using core::Status;
using core::StatusOr;
using nlohmann::json;

template <typename T>
void AppendNumbers(const core::Tensor& t, json* data) {
  for (T v : t.As<T>()) data->push_back(v);
}

Status TensorToJson(const core::Tensor& t, json* data) {
  *data = json::array();
  switch (t.dtype()) {
    case DataType::kBool:
      for (uint8_t v : t.As<uint8_t>()) data->push_back(v != 0);
      break;
    case DataType::kUint8: AppendNumbers<uint8_t>(t, data); break;
    case DataType::kUint16: AppendNumbers<uint16_t>(t, data); break;
    case DataType::kUint32: AppendNumbers<uint32_t>(t, data); break;
    case DataType::kUint64: AppendNumbers<uint64_t>(t, data); break;
    case DataType::kInt8: AppendNumbers<int8_t>(t, data); break;
    case DataType::kInt16: AppendNumbers<int16_t>(t, data); break;
    case DataType::kInt32: AppendNumbers<int32_t>(t, data); break;
    case DataType::kInt64: AppendNumbers<int64_t>(t, data); break;
    case DataType::kFp32: AppendNumbers<float>(t, data); break;
    case DataType::kFp64: AppendNumbers<double>(t, data); break;
    case DataType::kFp16:
      for (uint16_t v : t.As<uint16_t>()) data->push_back(protocol::HalfToFloat(v));
      break;
    case DataType::kBf16:
      for (uint16_t v : t.As<uint16_t>()) data->push_back(protocol::Bf16ToFloat(v));
      break;
    case DataType::kBytes: {
      ASSIGN_OR_RETURN(auto elements, t.StringElements());
      for (auto e : elements) data->push_back(std::string(e));
      break;
    }
    case DataType::kInvalid: return core::InvalidArgument("invalid datatype");
  }
  return Status::Ok();
}

template <typename T>
Status PutNumber(const json& v, std::vector<uint8_t>* out) {
  if (!v.is_number() && !v.is_boolean()) return core::Internal("expected a number, got " + v.dump());
  T x = v.is_boolean() ? static_cast<T>(v.get<bool>()) : v.get<T>();
  size_t at = out->size();
  out->resize(at + sizeof(T));
  std::memcpy(out->data() + at, &x, sizeof(T));
  return Status::Ok();
}

Status PutElement(DataType type, const json& v, std::vector<uint8_t>* out) {
  switch (type) {
    case DataType::kBool: return PutNumber<uint8_t>(v, out);
    case DataType::kUint8: return PutNumber<uint8_t>(v, out);
    case DataType::kUint16: return PutNumber<uint16_t>(v, out);
    case DataType::kUint32: return PutNumber<uint32_t>(v, out);
    case DataType::kUint64: return PutNumber<uint64_t>(v, out);
    case DataType::kInt8: return PutNumber<int8_t>(v, out);
    case DataType::kInt16: return PutNumber<int16_t>(v, out);
    case DataType::kInt32: return PutNumber<int32_t>(v, out);
    case DataType::kInt64: return PutNumber<int64_t>(v, out);
    case DataType::kFp32: return PutNumber<float>(v, out);
    case DataType::kFp64: return PutNumber<double>(v, out);
    case DataType::kFp16:
    case DataType::kBf16: {
      if (!v.is_number()) return core::Internal("expected a number, got " + v.dump());
      float f = v.get<float>();
      uint16_t h = type == DataType::kFp16 ? protocol::FloatToHalf(f) : protocol::FloatToBf16(f);
      return PutNumber<uint16_t>(json(h), out);
    }
    case DataType::kBytes:
      if (!v.is_string()) return core::Internal("expected a string, got " + v.dump());
      core::AppendBytesElement(v.get_ref<const std::string&>(), out);
      return Status::Ok();
    case DataType::kInvalid: break;
  }
  return core::Internal("invalid datatype");
}

// Flat or nested "data" arrays, row-major.
Status PutData(DataType type, const json& data, int depth, std::vector<uint8_t>* out) {
  if (depth > 64) return core::Internal("\"data\" nested deeper than 64");
  if (!data.is_array()) return PutElement(type, data, out);
  for (const auto& v : data) RETURN_IF_ERROR(PutData(type, v, depth + 1, out));
  return Status::Ok();
}

StatusOr<core::TensorSpec> SpecOf(const json& t) {
  core::TensorSpec spec;
  spec.name = t.at("name").get<std::string>();
  spec.dtype = core::DataTypeFromName(t.at("datatype").get<std::string>());
  if (spec.dtype == DataType::kInvalid) return core::Internal("tensor '" + spec.name + "' has an unknown datatype");
  spec.shape = t.at("shape").get<core::Shape>();
  spec.dim_names.assign(spec.shape.size(), "");
  return spec;
}

Status DecodeOutput(const json& o, std::string_view binary, size_t* binary_at, std::shared_ptr<const void> owner,
                    std::vector<core::InferOutput>* outputs) {
  core::InferOutput out;
  out.name = o.at("name").get<std::string>();
  DataType type = core::DataTypeFromName(o.at("datatype").get<std::string>());
  if (type == DataType::kInvalid) return core::Internal("output '" + out.name + "' has an unknown datatype");
  core::Shape shape = o.at("shape").get<core::Shape>();
  const json* size = o.contains("parameters") ? &o["parameters"] : nullptr;
  if (size && size->contains("binary_data_size")) {
    const size_t n = (*size)["binary_data_size"].get<size_t>();
    if (n > binary.size() - *binary_at) return core::Internal("output '" + out.name + "': binary data cut short");
    out.tensor = core::Tensor::BorrowIfAligned(type, shape, binary.data() + *binary_at, n, std::move(owner));
    *binary_at += n;
  } else {
    std::vector<uint8_t> bytes;
    RETURN_IF_ERROR(PutData(type, o.at("data"), 0, &bytes).WithPrefix("output '" + out.name + "'"));
    out.tensor = core::Tensor::FromBytes(type, shape, std::move(bytes));
  }
  RETURN_IF_ERROR(out.tensor.Validate("output '" + out.name + "' from the remote"));
  outputs->push_back(std::move(out));
  return Status::Ok();
}

}  // namespace

StatusOr<EncodedRequest> EncodeInferRequest(const std::vector<core::InferInput>& inputs,
                                            const std::vector<std::string>& output_names, bool binary) {
  json body;
  json& in = body["inputs"] = json::array();
  size_t binary_bytes = 0;
  for (const auto& i : inputs) {
    json t{{"name", i.name}, {"datatype", core::DataTypeName(i.tensor.dtype())}, {"shape", i.tensor.shape()}};
    if (binary) {
      t["parameters"] = {{"binary_data_size", i.tensor.byte_size()}};
      binary_bytes += i.tensor.byte_size();
    } else {
      RETURN_IF_ERROR(TensorToJson(i.tensor, &t["data"]).WithPrefix("input '" + i.name + "'"));
    }
    in.push_back(std::move(t));
  }
  if (!output_names.empty()) {
    json& out = body["outputs"] = json::array();
    for (const auto& name : output_names) out.push_back({{"name", name}});
  }
  if (binary) body["parameters"] = {{"binary_data_output", true}};
  EncodedRequest encoded;
  try {
    encoded.body = body.dump();
  } catch (const json::exception& e) {
    return core::InvalidArgument(std::string("cannot be sent as JSON (a BYTES element is not UTF-8?): ") + e.what());
  }
  encoded.json_length = encoded.body.size();
  if (binary) {
    encoded.body.reserve(encoded.json_length + binary_bytes);
    for (const auto& i : inputs) encoded.body.append(reinterpret_cast<const char*>(i.tensor.data()), i.tensor.byte_size());
  }
  return encoded;
}

bool HasBinaryExtension(std::string_view body) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("extensions") || !doc["extensions"].is_array()) {
    return false;
  }
  for (const auto& e : doc["extensions"]) {
    if (e.is_string() && e.get_ref<const std::string&>() == "binary_tensor_data") return true;
  }
  return false;
}

Status DecodeInferResponse(std::string_view body, size_t json_length, std::shared_ptr<const void> owner,
                           std::vector<core::InferOutput>* outputs) {
  if (json_length > body.size()) return core::Internal("Inference-Header-Content-Length exceeds the body");
  try {
    json doc = json::parse(body.substr(0, json_length));
    std::string_view binary = body.substr(json_length);
    size_t at = 0;
    for (const auto& o : doc.at("outputs")) RETURN_IF_ERROR(DecodeOutput(o, binary, &at, owner, outputs));
    return Status::Ok();
  } catch (const json::exception& e) {
    return core::Internal(std::string("the remote's response is not a v2 inference response: ") + e.what());
  }
}

StatusOr<core::ModelSignature> DecodeMetadata(std::string_view body) {
  try {
    json doc = json::parse(body);
    core::ModelSignature signature;
    for (const auto& t : doc.at("inputs")) {
      ASSIGN_OR_RETURN(auto spec, SpecOf(t));
      signature.inputs.push_back(std::move(spec));
    }
    for (const auto& t : doc.at("outputs")) {
      ASSIGN_OR_RETURN(auto spec, SpecOf(t));
      signature.outputs.push_back(std::move(spec));
    }
    return signature;
  } catch (const json::exception& e) {
    return core::Internal(std::string("the remote's metadata is not a v2 model metadata response: ") + e.what());
  }
}

int64_t DecodeMaxBatchSize(std::string_view body) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return -1;
  const json* config = doc.contains("config") ? &doc["config"] : &doc;  // some servers wrap it
  if (!config->contains("max_batch_size") || !(*config)["max_batch_size"].is_number_integer()) return -1;
  return (*config)["max_batch_size"].get<int64_t>();
}

std::string ErrorMessage(std::string_view body) {
  json doc = json::parse(body, nullptr, false);
  if (!doc.is_discarded() && doc.is_object() && doc.contains("error") && doc["error"].is_string()) {
    return doc["error"].get<std::string>();
  }
  return std::string(body.substr(0, 200));
}

}  // namespace infergate::remote

#include "payload.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

namespace infergate::bench {
namespace {

using nlohmann::json;

// Size in bytes of one element in the binary extension; 0 for BYTES.
const std::map<std::string, size_t>& ElementSizes() {
  static const std::map<std::string, size_t> sizes = {
      {"BOOL", 1},   {"UINT8", 1},  {"INT8", 1},   {"UINT16", 2}, {"INT16", 2},
      {"FP16", 2},   {"BF16", 2},   {"UINT32", 4}, {"INT32", 4},  {"FP32", 4},
      {"UINT64", 8}, {"INT64", 8},  {"FP64", 8},   {"BYTES", 0}};
  return sizes;
}

template <typename T>
void Append(std::string* out, T v) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out->append(bytes, sizeof(T));
}

// Appends one JSON element as `datatype` in the binary extension's layout
// (little-endian as the host; BYTES as a 4-byte length and the bytes).
core::Status AppendElement(const json& v, const std::string& datatype, std::string* out) {
  if (datatype == "BYTES") {
    if (!v.is_string()) return core::InvalidArgument("a BYTES element is not a string");
    const auto& s = v.get_ref<const std::string&>();
    Append<uint32_t>(out, static_cast<uint32_t>(s.size()));
    out->append(s);
    return core::Status::Ok();
  }
  if (datatype == "BOOL") {
    if (!v.is_boolean() && !v.is_number()) return core::InvalidArgument("a BOOL element is not a boolean");
    Append<uint8_t>(out, v.is_boolean() ? v.get<bool>() : v.get<double>() != 0);
    return core::Status::Ok();
  }
  if (!v.is_number()) return core::InvalidArgument("a " + datatype + " element is not a number");
  if (datatype == "FP32") Append<float>(out, v.get<float>());
  else if (datatype == "FP64") Append<double>(out, v.get<double>());
  else if (datatype == "INT8") Append<int8_t>(out, v.get<int8_t>());
  else if (datatype == "UINT8") Append<uint8_t>(out, v.get<uint8_t>());
  else if (datatype == "INT16") Append<int16_t>(out, v.get<int16_t>());
  else if (datatype == "UINT16") Append<uint16_t>(out, v.get<uint16_t>());
  else if (datatype == "INT32") Append<int32_t>(out, v.get<int32_t>());
  else if (datatype == "UINT32") Append<uint32_t>(out, v.get<uint32_t>());
  else if (datatype == "INT64") Append<int64_t>(out, v.get<int64_t>());
  else if (datatype == "UINT64") Append<uint64_t>(out, v.get<uint64_t>());
  else return core::InvalidArgument("datatype " + datatype + " cannot be sent as JSON numbers in binary form");
  return core::Status::Ok();
}

void Flatten(const json& data, std::vector<const json*>* out) {
  if (data.is_array()) {
    for (const auto& e : data) Flatten(e, out);
  } else {
    out->push_back(&data);
  }
}

// Moves every input's "data" into a binary part after the JSON header.
core::StatusOr<Payload> ToBinary(json request) {
  std::string tail;
  if (!request.contains("inputs") || !request["inputs"].is_array()) {
    return core::InvalidArgument("the request has no 'inputs' array");
  }
  for (auto& input : request["inputs"]) {
    const std::string name = input.value("name", std::string("?"));
    const std::string datatype = input.value("datatype", std::string());
    if (!input.contains("data")) return core::InvalidArgument("input '" + name + "' has no data");
    std::vector<const json*> flat;
    Flatten(input["data"], &flat);
    std::string bytes;
    for (const json* v : flat) {
      RETURN_IF_ERROR(AppendElement(*v, datatype, &bytes).WithPrefix("input '" + name + "'"));
    }
    input.erase("data");
    input["parameters"]["binary_data_size"] = bytes.size();
    tail += bytes;
  }
  request["parameters"]["binary_data_output"] = true;
  Payload p;
  p.body = request.dump();
  p.json_length = p.body.size();
  p.body += tail;
  return p;
}

core::StatusOr<Payload> Encode(json request, bool binary) {
  if (binary) return ToBinary(std::move(request));
  return Payload{request.dump(), 0};
}

json RandomData(const InputSpec& in, std::mt19937* rng) {
  int64_t count = 1;
  for (int64_t d : in.shape) count *= d;
  json data = json::array();
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> small(0, 99);
  for (int64_t i = 0; i < count; ++i) {
    if (in.datatype == "FP32" || in.datatype == "FP64" || in.datatype == "FP16" || in.datatype == "BF16") {
      data.push_back(normal(*rng));
    } else if (in.datatype == "BOOL") {
      data.push_back(small(*rng) % 2 == 1);
    } else if (in.datatype == "BYTES") {
      data.push_back("s" + std::to_string(small(*rng)));
    } else {
      data.push_back(small(*rng));
    }
  }
  return data;
}

}  // namespace

core::StatusOr<InputSpec> ParseInputSpec(const std::string& text) {
  const size_t a = text.find(':');
  const size_t b = a == std::string::npos ? a : text.find(':', a + 1);
  if (b == std::string::npos) {
    return core::InvalidArgument("input '" + text + "': expected NAME:DATATYPE:D0,D1,...");
  }
  InputSpec spec{text.substr(0, a), text.substr(a + 1, b - a - 1), {}};
  if (spec.name.empty()) return core::InvalidArgument("input '" + text + "': empty name");
  if (!ElementSizes().count(spec.datatype)) {
    return core::InvalidArgument("input '" + text + "': unknown datatype '" + spec.datatype + "'");
  }
  std::stringstream dims(text.substr(b + 1));
  std::string dim;
  while (std::getline(dims, dim, ',')) {
    char* end = nullptr;
    const long long d = std::strtoll(dim.c_str(), &end, 10);
    if (dim.empty() || *end != '\0' || d <= 0 || d > (1 << 24)) {
      return core::InvalidArgument("input '" + text + "': dimension '" + dim + "' is not a positive integer");
    }
    spec.shape.push_back(d);
  }
  if (spec.shape.empty()) return core::InvalidArgument("input '" + text + "': no dimensions");
  return spec;
}

core::StatusOr<PayloadSet> RandomPayloads(const std::vector<InputSpec>& inputs, int variants,
                                          bool binary, uint32_t seed) {
  if (inputs.empty()) return core::InvalidArgument("no inputs to make requests of");
  PayloadSet set;
  set.binary = binary;
  std::mt19937 rng(seed);
  try {
    for (int v = 0; v < std::max(variants, 1); ++v) {
      json request = {{"inputs", json::array()}};
      for (const auto& in : inputs) {
        request["inputs"].push_back(
            {{"name", in.name}, {"datatype", in.datatype}, {"shape", in.shape}, {"data", RandomData(in, &rng)}});
      }
      ASSIGN_OR_RETURN(Payload p, Encode(std::move(request), binary));
      set.bodies.push_back(std::move(p));
    }
  } catch (const json::exception& e) {
    return core::Internal(std::string("making request bodies: ") + e.what());
  }
  return set;
}

core::StatusOr<RawRequest> ToRawRequest(const Payload& payload) {
  if (payload.json_length > 0) return core::InvalidArgument("a binary payload cannot be decoded; use JSON bodies");
  RawRequest raw;
  try {
    const json request = json::parse(payload.body);
    for (const auto& input : request.at("inputs")) {
      RawTensor t{input.at("name").get<std::string>(), input.at("datatype").get<std::string>(),
                  input.at("shape").get<std::vector<int64_t>>(), {}, {}, 0, 0};
      if (input.contains("parameters") && input["parameters"].contains("shared_memory_region")) {
        const json& p = input["parameters"];
        t.shm_region = p.at("shared_memory_region").get<std::string>();
        t.shm_offset = p.value("shared_memory_offset", int64_t{0});
        t.shm_byte_size = p.at("shared_memory_byte_size").get<int64_t>();
        raw.inputs.push_back(std::move(t));
        continue;
      }
      std::vector<const json*> flat;
      Flatten(input.at("data"), &flat);
      for (const json* v : flat) RETURN_IF_ERROR(AppendElement(*v, t.datatype, &t.bytes).WithPrefix("input '" + t.name + "'"));
      raw.inputs.push_back(std::move(t));
    }
  } catch (const json::exception& e) {
    return core::InvalidArgument(std::string("decoding a request body: ") + e.what());
  }
  return raw;
}

core::StatusOr<PayloadSet> PayloadsFromFile(const std::string& path, bool binary) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::NotFound(path + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  PayloadSet set;
  set.binary = binary;
  try {
    json doc = json::parse(text.str());
    std::vector<json> requests;
    if (doc.is_array()) {
      for (auto& r : doc) requests.push_back(std::move(r));
    } else {
      requests.push_back(std::move(doc));
    }
    for (auto& r : requests) {
      if (!r.is_object() || !r.contains("inputs")) {
        return core::InvalidArgument(path + ": every request needs an 'inputs' array");
      }
      auto p = Encode(std::move(r), binary);
      if (!p.ok()) return p.status().WithPrefix(path);
      set.bodies.push_back(std::move(p).value());
    }
  } catch (const json::exception& e) {
    return core::InvalidArgument(path + ": " + e.what());
  }
  if (set.bodies.empty()) return core::InvalidArgument(path + ": no requests");
  return set;
}

}  // namespace infergate::bench

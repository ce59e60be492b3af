#include "protocol/telemetry_json.h"

#include <simdjson.h>

#include <cmath>
#include <map>

#include "protocol/json_writer.h"

namespace infergate::protocol {
namespace {

namespace od = simdjson::ondemand;
using core::Status;
using pipeline::Telemetry;

class Flattener {
 public:
  Flattener(const TelemetryLimits& limits, Telemetry* out) : limits_(limits), out_(out) {}

  Status Object(od::object object, const std::string& prefix, size_t depth) {
    if (depth > limits_.max_depth)
      return core::ResourceExhausted("telemetry nests deeper than " +
                                     std::to_string(limits_.max_depth));
    for (auto member : object) {
      std::string_view key;
      if (auto e = member.unescaped_key().get(key)) return Malformed(e);
      const std::string path = prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
      od::value value;
      if (auto e = member.value().get(value)) return Malformed(e);
      RETURN_IF_ERROR(Value(value, path, depth));
    }
    return Status::Ok();
  }

 private:
  Status Malformed(simdjson::error_code e) {
    return core::InvalidArgument(std::string("telemetry is not valid JSON: ") +
                                 simdjson::error_message(e));
  }

  Status Put(const std::string& path, Telemetry::Value v) {
    if (out_->fields.size() >= limits_.max_fields && !out_->fields.count(path)) {
      return core::ResourceExhausted("telemetry holds more than " +
                                     std::to_string(limits_.max_fields) + " fields");
    }
    out_->fields[path] = std::move(v);
    return Status::Ok();
  }

  Status Value(od::value& value, const std::string& path, size_t depth) {
    od::json_type type;
    if (auto e = value.type().get(type)) return Malformed(e);
    switch (type) {
      case od::json_type::object: {
        od::object object;
        if (auto e = value.get_object().get(object)) return Malformed(e);
        return Object(object, path, depth + 1);
      }
      case od::json_type::array: {
        std::vector<double> numbers;
        RETURN_IF_ERROR(Array(value, path, depth + 1, &numbers));
        return Put(path, std::move(numbers));
      }
      case od::json_type::number: {
        double d = 0;
        if (auto e = value.get_double().get(d)) return Malformed(e);
        return Put(path, d);
      }
      case od::json_type::string: {
        std::string_view s;
        if (auto e = value.get_string().get(s)) return Malformed(e);
        return Put(path, std::string(s));
      }
      case od::json_type::boolean: {
        bool b = false;
        if (auto e = value.get_bool().get(b)) return Malformed(e);
        return Put(path, b ? 1.0 : 0.0);
      }
      case od::json_type::null:
        if (auto e = value.is_null().error()) return Malformed(e);
        out_->fields.erase(path);  // null: absent
        return Status::Ok();
      default:
        break;
    }
    return core::InvalidArgument("field '" + path + "': unsupported JSON value");
  }

  Status Array(od::value& value, const std::string& path, size_t depth,
               std::vector<double>* numbers) {
    if (depth > limits_.max_depth)
      return core::ResourceExhausted("telemetry nests deeper than " +
                                     std::to_string(limits_.max_depth));
    od::array array;
    if (auto e = value.get_array().get(array)) return Malformed(e);
    for (auto element : array) {
      od::value item;
      if (auto e = element.get(item)) return Malformed(e);
      od::json_type type;
      if (auto e = item.type().get(type)) return Malformed(e);
      if (type == od::json_type::array) {
        RETURN_IF_ERROR(Array(item, path, depth + 1, numbers));
        continue;
      }
      double d = 0;
      if (type == od::json_type::boolean) {
        bool b = false;
        if (auto e = item.get_bool().get(b)) return Malformed(e);
        d = b ? 1.0 : 0.0;
      } else if (type == od::json_type::number) {
        if (auto e = item.get_double().get(d)) return Malformed(e);
      } else {
        return core::InvalidArgument("field '" + path +
                                     "': an array may hold only numbers; element " +
                                     std::to_string(numbers->size()) + " is not one");
      }
      if (numbers->size() == limits_.max_array_elements) {
        return core::ResourceExhausted("field '" + path + "': more than " +
                                       std::to_string(limits_.max_array_elements) + " numbers");
      }
      numbers->push_back(d);
    }
    return Status::Ok();
  }

  const TelemetryLimits& limits_;
  Telemetry* out_;
};

// Dotted paths as a tree, for writing nested objects.
struct Node {
  const Telemetry::Value* value = nullptr;
  std::map<std::string, Node, std::less<>> children;
};

void WriteValue(JsonWriter& w, const Telemetry::Value& v) {
  if (const auto* d = std::get_if<double>(&v)) {
    w.Double(*d);
  } else if (const auto* a = std::get_if<std::vector<double>>(&v)) {
    w.BeginArray();
    for (double x : *a) w.Double(x);
    w.EndArray();
  } else {
    w.String(std::get<std::string>(v));
  }
}

// A score that came from an FP32 output is written as that float's shortest
// form (0.9364494, not 0.936449408531189).
void WriteScore(JsonWriter& w, double v) {
  const auto f = static_cast<float>(v);
  if (std::isfinite(v) && static_cast<double>(f) == v) {
    w.Float(f);
  } else {
    w.Double(v);
  }
}

void WriteNode(JsonWriter& w, const Node& node) {
  w.BeginObject();
  for (const auto& [key, child] : node.children) {
    w.Key(key);
    if (child.value && child.children.empty()) {
      WriteValue(w, *child.value);
    } else {
      WriteNode(w, child);  // a value beside children (both "a" and "a.b") keeps only the children
    }
  }
  w.EndObject();
}

}  // namespace

struct TelemetryDecoder::Impl {
  TelemetryLimits limits;
  od::parser parser;
  std::string scratch;
};

TelemetryDecoder::TelemetryDecoder(TelemetryLimits limits) : impl_(std::make_unique<Impl>()) {
  impl_->limits = limits;
}
TelemetryDecoder::~TelemetryDecoder() = default;

Status TelemetryDecoder::Decode(std::string_view body, pipeline::Telemetry* out) {
  out->fields.clear();
  out->timestamp_secs.reset();
  impl_->scratch.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  impl_->scratch.assign(body.data(), body.size());
  od::document doc;
  if (auto e = impl_->parser.iterate(impl_->scratch.data(), body.size(), impl_->scratch.capacity())
                   .get(doc)) {
    return core::InvalidArgument(std::string("telemetry is not valid JSON: ") +
                                 simdjson::error_message(e));
  }
  od::object root;
  if (auto e = doc.get_object().get(root)) {
    if (e == simdjson::INCORRECT_TYPE)
      return core::InvalidArgument("telemetry must be a JSON object");
    return core::InvalidArgument(std::string("telemetry is not valid JSON: ") +
                                 simdjson::error_message(e));
  }
  Flattener flattener(impl_->limits, out);
  RETURN_IF_ERROR(flattener.Object(root, "", 0));
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS)
    return core::InvalidArgument("telemetry is not valid JSON: trailing content after the object");
  return Status::Ok();
}

core::StatusOr<pipeline::Telemetry> DecodeTelemetry(std::string_view body,
                                                    const TelemetryLimits& limits) {
  TelemetryDecoder decoder(limits);
  pipeline::Telemetry t;
  RETURN_IF_ERROR(decoder.Decode(body, &t));
  return t;
}

std::string EncodeTelemetry(const pipeline::Telemetry& telemetry) {
  Node root;
  for (const auto& [path, value] : telemetry.fields) {
    Node* node = &root;
    size_t start = 0;
    while (true) {
      const size_t dot = path.find('.', start);
      node = &node->children[path.substr(
          start, dot == std::string::npos ? std::string::npos : dot - start)];
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    node->value = &value;
  }
  std::string out;
  JsonWriter w(&out);
  WriteNode(w, root);
  return out;
}

std::string EncodeResult(const pipeline::Result& r) {
  std::string out;
  JsonWriter w(&out);
  const auto& f = r.fields;
  w.BeginObject();
  if (!f.device.empty()) w.Member(f.device, std::string_view(r.device_id));
  if (!f.label.empty()) w.Member(f.label, std::string_view(r.label));
  if (!f.score.empty()) {
    w.Key(f.score);
    WriteScore(w, r.score);
  }
  if (!f.alert.empty()) w.Member(f.alert, r.alert);
  if (!f.top_k.empty() && !r.top_k.empty()) {
    w.Key(f.top_k);
    w.BeginArray();
    for (const auto& s : r.top_k) {
      w.BeginObject();
      w.Member("label", std::string_view(s.label));
      w.Key("score");
      WriteScore(w, s.score);
      w.EndObject();
    }
    w.EndArray();
  }
  if (!f.model.empty()) w.Member(f.model, std::string_view(r.model_name));
  if (!f.seq.empty()) w.Member(f.seq, r.seq);
  if (!f.ts.empty()) {
    w.Key(f.ts);
    w.Double(r.ts);
  }
  if (!r.tier.empty()) w.Member("tier", std::string_view(r.tier));
  if (!r.escalation.empty()) w.Member("escalation", std::string_view(r.escalation));
  w.EndObject();
  return out;
}

}  // namespace infergate::protocol

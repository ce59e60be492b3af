#include "config/device_contract_yaml.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/datatype.h"

namespace infergate::config {
namespace {

using core::DeviceContract;
using core::DeviceField;
using core::DeviceResult;
using core::DeviceWindow;
using core::Status;

// A positive number of seconds.
core::StatusOr<double> Seconds(const YamlReader& r, const YAML::Node& node, const std::string& key,
                               bool zero_ok) {
  ASSIGN_OR_RETURN(double v, r.Double(node, key));
  if (!std::isfinite(v) || v < 0 || (!zero_ok && v == 0)) {
    return r.Error(node, key, zero_ok ? "expected seconds >= 0" : "expected seconds > 0");
  }
  return v;
}

// One of a fixed set of words, e.g. fill: previous | zero.
template <typename E>
core::StatusOr<E> OneOf(const YamlReader& r, const YAML::Node& node, const std::string& key,
                        std::initializer_list<std::pair<const char*, E>> choices) {
  ASSIGN_OR_RETURN(std::string word, r.String(node, key));
  std::string list;
  for (const auto& [name, value] : choices) {
    if (word == name) return value;
    list += list.empty() ? "" : (&name == &(choices.end() - 1)->first ? " or " : ", ");
    list += name;
  }
  return r.Error(node, key, "expected " + list + ", got '" + word + "'");
}

core::StatusOr<std::vector<std::string>> StringList(const YamlReader& r, const YAML::Node& node,
                                                    const std::string& key) {
  if (!node.IsSequence()) return r.Error(node, key, "expected a list of strings");
  std::vector<std::string> out;
  for (const auto& item : node) {
    ASSIGN_OR_RETURN(std::string s, r.String(item, key));
    out.push_back(std::move(s));
  }
  return out;
}

Status ParseNormalize(const YamlReader& r, const YAML::Node& node, const std::string& key,
                      core::FieldNormalization* out) {
  RETURN_IF_ERROR(r.CheckKeys(node, key, {"mean", "std", "min", "max"}));
  const bool mean_std = node["mean"] || node["std"];
  const bool min_max = node["min"] || node["max"];
  if (mean_std == min_max) return r.Error(node, key, "give {mean, std} or {min, max}");
  if (mean_std) {
    if (!node["mean"] || !node["std"]) return r.Error(node, key, "give both mean and std");
    out->kind = core::FieldNormalization::Kind::kMeanStd;
    ASSIGN_OR_RETURN(out->mean, r.Double(node["mean"], key + ".mean"));
    ASSIGN_OR_RETURN(out->std, r.Double(node["std"], key + ".std"));
    if (!(out->std > 0) || !std::isfinite(out->std) || !std::isfinite(out->mean)) {
      return r.Error(node["std"], key + ".std", "expected a finite mean and a std > 0");
    }
  } else {
    if (!node["min"] || !node["max"]) return r.Error(node, key, "give both min and max");
    out->kind = core::FieldNormalization::Kind::kMinMax;
    ASSIGN_OR_RETURN(out->min, r.Double(node["min"], key + ".min"));
    ASSIGN_OR_RETURN(out->max, r.Double(node["max"], key + ".max"));
    if (!(out->max > out->min) || !std::isfinite(out->max) || !std::isfinite(out->min)) {
      return r.Error(node["max"], key + ".max", "expected finite min < max");
    }
  }
  return Status::Ok();
}

// missing: reject | last | {default: V}
Status ParseMissing(const YamlReader& r, const YAML::Node& node, const std::string& key,
                    DeviceField* field) {
  if (node.IsMap()) {
    RETURN_IF_ERROR(r.CheckKeys(node, key, {"default"}));
    if (!node["default"]) return r.Error(node, key, "expected {default: VALUE}");
    field->missing = core::MissingPolicy::kDefault;
    ASSIGN_OR_RETURN(field->default_value, r.Double(node["default"], key + ".default"));
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(std::string policy, r.String(node, key));
  if (policy == "reject") {
    field->missing = core::MissingPolicy::kReject;
  } else if (policy == "last") {
    field->missing = core::MissingPolicy::kLast;
  } else {
    return r.Error(node, key, "expected reject, last or {default: VALUE}, got '" + policy + "'");
  }
  return Status::Ok();
}

// A field is a name ("temp") or a mapping.
Status ParseField(const YamlReader& r, const YAML::Node& node, const std::string& where,
                  DeviceField* field) {
  if (node.IsScalar()) {
    ASSIGN_OR_RETURN(field->name, r.String(node, where));
    field->path = field->name;
    return Status::Ok();
  }
  RETURN_IF_ERROR(r.CheckKeys(
      node, where, {"name", "path", "type", "length", "unit", "normalize", "missing", "example"}));
  if (!node["name"]) return r.Error(node, where, "every field needs a name");
  ASSIGN_OR_RETURN(field->name, r.String(node["name"], where + ".name"));
  const std::string key = where + "." + field->name;
  field->path = field->name;
  if (node["path"]) {
    ASSIGN_OR_RETURN(field->path, r.String(node["path"], key + ".path"));
  }
  if (field->path.empty() || field->path.front() == '.' || field->path.back() == '.') {
    return r.Error(node, key + ".path", "expected a dotted path such as sensors.vib");
  }
  if (node["type"]) {
    ASSIGN_OR_RETURN(field->integer, OneOf<bool>(r, node["type"], key + ".type",
                                                 {{"float", false}, {"int", true}}));
  }
  if (node["length"]) {
    ASSIGN_OR_RETURN(field->length, r.Int(node["length"], key + ".length", 0, 1 << 20));
  }
  if (node["unit"]) {
    ASSIGN_OR_RETURN(field->unit, r.String(node["unit"], key + ".unit"));
  }
  if (node["normalize"]) {
    RETURN_IF_ERROR(ParseNormalize(r, node["normalize"], key + ".normalize", &field->normalize));
  }
  if (node["missing"]) RETURN_IF_ERROR(ParseMissing(r, node["missing"], key + ".missing", field));
  if (node["example"]) {
    ASSIGN_OR_RETURN(double example, r.Double(node["example"], key + ".example"));
    field->example = example;
  }
  return Status::Ok();
}

Status ParseInputs(const YamlReader& r, const YAML::Node& node, DeviceContract* c) {
  if (!node.IsSequence() || node.size() == 0) {
    return r.Error(node, "device.inputs", "expected a list of {name, fields}");
  }
  for (const auto& item : node) {
    RETURN_IF_ERROR(r.CheckKeys(item, "device.inputs", {"name", "fields"}));
    core::DeviceInput input;
    if (!item["name"])
      return r.Error(item, "device.inputs", "every input needs a name (a model input)");
    ASSIGN_OR_RETURN(input.name, r.String(item["name"], "device.inputs.name"));
    const std::string where = "device.inputs." + input.name + ".fields";
    if (!item["fields"] || !item["fields"].IsSequence() || item["fields"].size() == 0) {
      return r.Error(item, where, "expected a list of fields");
    }
    for (const auto& f : item["fields"]) {
      DeviceField field;
      RETURN_IF_ERROR(ParseField(r, f, where, &field));
      input.fields.push_back(std::move(field));
    }
    c->inputs.push_back(std::move(input));
  }
  return Status::Ok();
}

Status ParseCountWindow(const YamlReader& r, const YAML::Node& node, DeviceWindow* w) {
  w->kind = DeviceWindow::Kind::kCount;
  ASSIGN_OR_RETURN(w->count, r.Int(node["count"], "device.window.count", 1, 1 << 20));
  w->hop = w->count;
  if (node["hop"]) {
    ASSIGN_OR_RETURN(w->hop, r.Int(node["hop"], "device.window.hop", 1, w->count));
  }
  return Status::Ok();
}

Status ParseTimeWindow(const YamlReader& r, const YAML::Node& node, DeviceWindow* w) {
  w->kind = DeviceWindow::Kind::kTime;
  for (const char* k : {"length_secs", "period_secs"}) {
    if (!node[k]) return r.Error(node, "device.window", std::string("a time window needs ") + k);
  }
  ASSIGN_OR_RETURN(w->length_secs,
                   Seconds(r, node["length_secs"], "device.window.length_secs", false));
  ASSIGN_OR_RETURN(w->period_secs,
                   Seconds(r, node["period_secs"], "device.window.period_secs", false));
  // Readings are placed by their time in whole periods (an int64): with
  // times up to pipeline::kMaxTimestampSecs (1e11 s) a period must be >= 1 us.
  if (w->period_secs < 1e-6) {
    return r.Error(node["period_secs"], "device.window.period_secs",
                   "expected at least 0.000001 s (a microsecond)");
  }
  w->hop_secs = w->length_secs;
  if (node["hop_secs"]) {
    ASSIGN_OR_RETURN(w->hop_secs, Seconds(r, node["hop_secs"], "device.window.hop_secs", false));
  }
  const double slots = w->length_secs / w->period_secs;
  if (std::abs(slots - std::round(slots)) > 1e-6 * slots || slots > (1 << 20)) {
    return r.Error(node["length_secs"], "device.window.length_secs",
                   "must be a whole multiple of period_secs (at most 1048576 periods)");
  }
  const double hops = w->hop_secs / w->period_secs;
  if (std::abs(hops - std::round(hops)) > 1e-6 * hops || w->hop_secs > w->length_secs) {
    return r.Error(node["hop_secs"] ? node["hop_secs"] : node, "device.window.hop_secs",
                   "must be a whole multiple of period_secs and at most length_secs");
  }
  if (node["fill"]) {
    ASSIGN_OR_RETURN(w->fill,
                     OneOf<DeviceWindow::Fill>(r, node["fill"], "device.window.fill",
                                               {{"previous", DeviceWindow::Fill::kPrevious},
                                                {"zero", DeviceWindow::Fill::kZero}}));
  }
  return Status::Ok();
}

Status ParseWindow(const YamlReader& r, const YAML::Node& node, DeviceWindow* w) {
  RETURN_IF_ERROR(r.CheckKeys(
      node, "device.window",
      {"count", "hop", "length_secs", "hop_secs", "period_secs", "fill", "max_gap_secs"}));
  const bool count = node["count"] || node["hop"];
  const bool time = node["length_secs"] || node["hop_secs"] || node["period_secs"] || node["fill"];
  if (count == time) {
    return r.Error(
        node, "device.window",
        "give a count window {count, hop} or a time window {length_secs, hop_secs, period_secs}");
  }
  if (count) {
    if (!node["count"]) return r.Error(node, "device.window", "a count window needs count");
    RETURN_IF_ERROR(ParseCountWindow(r, node, w));
  } else {
    RETURN_IF_ERROR(ParseTimeWindow(r, node, w));
  }
  if (node["max_gap_secs"]) {
    ASSIGN_OR_RETURN(w->max_gap_secs,
                     Seconds(r, node["max_gap_secs"], "device.window.max_gap_secs", true));
  }
  return Status::Ok();
}

Status ParseState(const YamlReader& r, const YAML::Node& node, DeviceContract* c) {
  if (!node.IsSequence())
    return r.Error(node, "device.state", "expected a list of {input, output}");
  for (const auto& item : node) {
    RETURN_IF_ERROR(r.CheckKeys(item, "device.state", {"input", "output", "initial"}));
    if (!item["input"] || !item["output"]) {
      return r.Error(item, "device.state", "every state needs an input and an output");
    }
    core::DeviceState s;
    ASSIGN_OR_RETURN(s.input, r.String(item["input"], "device.state.input"));
    ASSIGN_OR_RETURN(s.output, r.String(item["output"], "device.state.output"));
    if (item["initial"]) {
      ASSIGN_OR_RETURN(s.initial, r.Double(item["initial"], "device.state.initial"));
    }
    c->state.push_back(std::move(s));
  }
  return Status::Ok();
}

// A constant's value: a scalar for shape [], else nested lists matching
// `shape` (dims[depth] items at each level), flattened into *out.
Status ParseConstantValue(const YamlReader& r, const YAML::Node& node, const std::string& key,
                          const std::vector<int64_t>& shape, size_t depth,
                          std::vector<double>* out) {
  if (depth == shape.size()) {
    if (!node.IsScalar()) return r.Error(node, key, "expected a number at this depth of the shape");
    ASSIGN_OR_RETURN(double v, r.Double(node, key));
    if (!std::isfinite(v)) return r.Error(node, key, "expected a finite number");
    out->push_back(v);
    return Status::Ok();
  }
  if (!node.IsSequence() || static_cast<int64_t>(node.size()) != shape[depth]) {
    return r.Error(node, key,
                   "expected a list of " + std::to_string(shape[depth]) + " at depth " +
                       std::to_string(depth) + " (nested lists matching shape)");
  }
  for (const auto& item : node) {
    RETURN_IF_ERROR(ParseConstantValue(r, item, key, shape, depth + 1, out));
  }
  return Status::Ok();
}

// constants: {INPUT: {datatype: INT64, shape: [], value: 16000}, ...}
Status ParseConstants(const YamlReader& r, const YAML::Node& node, DeviceContract* c) {
  if (!node.IsMap())
    return r.Error(node, "device.constants", "expected {INPUT: {datatype, shape, value}, ...}");
  for (const auto& item : node) {
    core::DeviceConstant k;
    ASSIGN_OR_RETURN(k.input, r.String(item.first, "device.constants"));
    const std::string key = "device.constants." + k.input;
    const YAML::Node& spec = item.second;
    RETURN_IF_ERROR(r.CheckKeys(spec, key, {"datatype", "shape", "value"}));
    if (!spec["datatype"] || !spec["value"])
      return r.Error(spec, key, "a constant needs a datatype and a value");
    ASSIGN_OR_RETURN(k.datatype, r.String(spec["datatype"], key + ".datatype"));
    if (core::DataTypeFromName(k.datatype) == core::DataType::kInvalid)
      return r.Error(spec["datatype"], key + ".datatype", "unknown datatype '" + k.datatype + "'");
    if (spec["shape"]) {
      if (!spec["shape"].IsSequence())
        return r.Error(spec["shape"], key + ".shape", "expected a list of dims");
      for (const auto& d : spec["shape"]) {
        ASSIGN_OR_RETURN(int64_t dim, r.Int(d, key + ".shape", 0, 1 << 20));
        k.shape.push_back(dim);
      }
    }
    int64_t elements = 1;
    for (int64_t d : k.shape) elements *= d;
    if (elements > (1 << 20))
      return r.Error(spec["shape"], key + ".shape", "at most 1048576 elements");
    RETURN_IF_ERROR(ParseConstantValue(r, spec["value"], key + ".value", k.shape, 0, &k.values));
    c->constants.push_back(std::move(k));
  }
  return Status::Ok();
}

Status ParseReplyFields(const YamlReader& r, const YAML::Node& node, core::ReplyFieldNames* f) {
  RETURN_IF_ERROR(r.CheckKeys(node, "device.result.fields",
                              {"device", "label", "score", "alert", "top_k", "model", "seq", "ts"}));
  std::pair<const char*, std::string*> names[] = {
      {"device", &f->device}, {"label", &f->label}, {"score", &f->score}, {"alert", &f->alert},
      {"top_k", &f->top_k},   {"model", &f->model}, {"seq", &f->seq},     {"ts", &f->ts}};
  for (auto& [key, target] : names) {
    if (!node[key]) continue;
    if (node[key].IsNull()) {
      target->clear();  // "label: ~" leaves the field out
      continue;
    }
    ASSIGN_OR_RETURN(*target, r.String(node[key], std::string("device.result.fields.") + key));
  }
  return Status::Ok();
}

Status ParseResultKindAndOn(const YamlReader& r, const YAML::Node& node, DeviceResult* res) {
  res->kind = node["labels"] ? DeviceResult::Kind::kClasses : DeviceResult::Kind::kScore;
  if (node["kind"]) {
    ASSIGN_OR_RETURN(res->kind,
                     OneOf<DeviceResult::Kind>(r, node["kind"], "device.result.kind",
                                               {{"score", DeviceResult::Kind::kScore},
                                                {"classes", DeviceResult::Kind::kClasses}}));
  }
  if (node["on"]) {
    ASSIGN_OR_RETURN(res->on,
                     OneOf<DeviceResult::On>(r, node["on"], "device.result.on",
                                             {{"always", DeviceResult::On::kAlways},
                                              {"change", DeviceResult::On::kChange},
                                              {"threshold", DeviceResult::On::kThreshold}}));
  }
  return Status::Ok();
}

Status ParseResult(const YamlReader& r, const YAML::Node& node, DeviceResult* res) {
  RETURN_IF_ERROR(r.CheckKeys(node, "device.result",
                              {"output", "kind", "labels", "top_k", "threshold", "direction",
                               "alert_label", "normal_label", "alert_labels", "on", "fields"}));
  RETURN_IF_ERROR(ParseResultKindAndOn(r, node, res));
  if (node["output"]) {
    ASSIGN_OR_RETURN(res->output, r.String(node["output"], "device.result.output"));
  }
  if (node["labels"]) {
    ASSIGN_OR_RETURN(res->labels, StringList(r, node["labels"], "device.result.labels"));
  }
  if (node["top_k"]) {
    ASSIGN_OR_RETURN(res->top_k, r.Int(node["top_k"], "device.result.top_k", 1, 1 << 16));
  }
  if (node["threshold"]) {
    ASSIGN_OR_RETURN(double t, r.Double(node["threshold"], "device.result.threshold"));
    if (!std::isfinite(t))
      return r.Error(node["threshold"], "device.result.threshold", "expected a finite number");
    res->threshold = t;
  }
  if (node["direction"]) {
    ASSIGN_OR_RETURN(res->below, OneOf<bool>(r, node["direction"], "device.result.direction",
                                             {{"above", false}, {"below", true}}));
  }
  if (node["alert_label"]) {
    ASSIGN_OR_RETURN(res->alert_label, r.String(node["alert_label"], "device.result.alert_label"));
  }
  if (node["normal_label"]) {
    ASSIGN_OR_RETURN(res->normal_label,
                     r.String(node["normal_label"], "device.result.normal_label"));
  }
  if (node["alert_labels"]) {
    ASSIGN_OR_RETURN(res->alert_labels,
                     StringList(r, node["alert_labels"], "device.result.alert_labels"));
  }
  if (node["fields"]) RETURN_IF_ERROR(ParseReplyFields(r, node["fields"], &res->fields));
  if (res->kind == DeviceResult::Kind::kScore && res->on == DeviceResult::On::kThreshold &&
      !res->threshold) {
    return r.Error(node, "device.result.threshold", "on: threshold needs a threshold");
  }
  if (res->kind == DeviceResult::Kind::kClasses && res->on == DeviceResult::On::kThreshold &&
      res->alert_labels.empty()) {
    return r.Error(node, "device.result.alert_labels",
                   "on: threshold with classes needs alert_labels");
  }
  for (const auto& l : res->alert_labels) {
    if (!res->labels.empty() &&
        std::find(res->labels.begin(), res->labels.end(), l) == res->labels.end()) {
      return r.Error(node["alert_labels"], "device.result.alert_labels",
                     "'" + l + "' is not one of labels");
    }
  }
  return Status::Ok();
}

Status ParseDeviceLimits(const YamlReader& r, const YAML::Node& node, DeviceContract* c) {
  if (node["id_field"]) {
    ASSIGN_OR_RETURN(c->id_field, r.String(node["id_field"], "device.id_field"));
  }
  if (node["timestamp_field"]) {
    ASSIGN_OR_RETURN(c->timestamp_field,
                     r.String(node["timestamp_field"], "device.timestamp_field"));
  }
  if (node["reset_field"]) {
    ASSIGN_OR_RETURN(c->reset_field, r.String(node["reset_field"], "device.reset_field"));
  }
  if (node["seq_field"]) {
    ASSIGN_OR_RETURN(c->seq_field, r.String(node["seq_field"], "device.seq_field"));
  }
  if (node["max_backlog"]) {
    ASSIGN_OR_RETURN(c->max_backlog, r.Int(node["max_backlog"], "device.max_backlog", 0, 1024));
  }
  if (node["max_devices"]) {
    ASSIGN_OR_RETURN(c->max_devices,
                     r.Int(node["max_devices"], "device.max_devices", 1, 10'000'000));
  }
  if (node["idle_ttl_secs"]) {
    ASSIGN_OR_RETURN(c->idle_ttl_secs,
                     Seconds(r, node["idle_ttl_secs"], "device.idle_ttl_secs", false));
  }
  return Status::Ok();
}

}  // namespace

Status ParseDeviceContract(const YamlReader& r, const YAML::Node& node, DeviceContract* out) {
  RETURN_IF_ERROR(r.CheckKeys(node, "device",
                              {"id_field", "timestamp_field", "reset_field", "seq_field", "max_devices",
                               "idle_ttl_secs", "max_backlog", "inputs", "window", "state",
                               "constants", "result"}));
  if (!node["inputs"]) return r.Error(node, "device.inputs", "the device section needs inputs");
  RETURN_IF_ERROR(ParseDeviceLimits(r, node, out));
  RETURN_IF_ERROR(ParseInputs(r, node["inputs"], out));
  if (node["window"]) RETURN_IF_ERROR(ParseWindow(r, node["window"], &out->window));
  if (node["state"]) RETURN_IF_ERROR(ParseState(r, node["state"], out));
  if (node["constants"]) RETURN_IF_ERROR(ParseConstants(r, node["constants"], out));
  if (node["result"]) RETURN_IF_ERROR(ParseResult(r, node["result"], &out->result));
  return Status::Ok();
}

}  // namespace infergate::config

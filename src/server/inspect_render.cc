// Text and JSON renderings of InspectReport.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>

#include "pipeline/tensor_values.h"
#include "server/inspect.h"

namespace infergate::server {
namespace {

std::string OpsetName(const std::string& domain) { return domain.empty() ? "ai.onnx" : domain; }

// "[batch, 64]" using symbolic names where the model has them.
std::string ModelShape(const core::TensorSpec& spec) {
  std::string s = "[";
  for (size_t i = 0; i < spec.shape.size(); ++i) {
    if (i) s += ", ";
    if (spec.shape[i] >= 0) s += std::to_string(spec.shape[i]);
    else if (i < spec.dim_names.size() && !spec.dim_names[i].empty()) s += spec.dim_names[i];
    else s += "?";
  }
  return s + "]";
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string Mark(const core::ModelConfig& c, const std::string& key) {
  return c.autofilled.count(key) ? "   # auto: from the model file" : "";
}

const core::TensorConfig* FindConfig(const std::vector<core::TensorConfig>& list, const std::string& name) {
  for (const auto& t : list) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

void RenderTensors(std::ostringstream& out, const char* title, const std::vector<core::TensorSpec>& specs,
                   const std::vector<core::TensorConfig>& configs, bool batched) {
  out << title << "\n";
  size_t w = 6;
  size_t shape_w = 18;
  for (const auto& s : specs) {
    w = std::max(w, s.name.size() + 2);
    shape_w = std::max(shape_w, ModelShape(s).size() + 2);
  }
  out << "  " << Pad("name", w) << Pad("type", 7) << Pad("model shape", shape_w) << "one request sends\n";
  for (const auto& s : specs) {
    const core::TensorConfig* c = FindConfig(configs, s.name);
    std::string per_request = c ? core::ShapeToString(c->dims) : "?";
    if (c && batched) per_request = "[n," + per_request.substr(1) + "  (n <= max_batch_size)";
    out << "  " << Pad(s.name, w) << Pad(std::string(core::DataTypeName(s.dtype)), 7)
        << Pad(ModelShape(s), shape_w) << per_request << "\n";
  }
}

void RenderConfig(std::ostringstream& out, const core::ModelConfig& c) {
  out << "Effective config.yaml\n";
  out << "  name: " << c.name << "\n";
  out << "  platform: " << c.platform << "\n";
  out << "  max_batch_size: " << c.max_batch_size << Mark(c, "max_batch_size") << "\n";
  out << "  version_policy: {" << c.version_policy.ToString() << "}\n";
  out << "  instance_count: " << c.instance_count << "\n";
  for (const auto* kind : {"input", "output"}) {
    const auto& list = std::string(kind) == "input" ? c.inputs : c.outputs;
    out << "  " << kind << ":" << Mark(c, kind) << "\n";
    for (const auto& t : list) {
      out << "    - {name: " << t.name << ", data_type: " << core::DataTypeName(t.dtype)
          << ", dims: " << core::ShapeToString(t.dims) << "}"
          << Mark(c, std::string(kind) + "." + t.name) << "\n";
    }
  }
  if (c.has_dynamic_batching) {
    const core::DynamicBatchingConfig& db = c.dynamic_batching;
    out << "  dynamic_batching: {preferred_batch_size: " << core::ShapeToString(db.preferred_batch_size)
        << ", max_queue_delay_microseconds: " << db.max_queue_delay_microseconds
        << ", max_queue_size: " << db.max_queue_size
        << ", default_timeout_microseconds: " << db.default_timeout_microseconds << "}\n";
  }
  out << "  onnxruntime: {intra_op_threads: " << c.runtime.intra_op_threads
      << ", graph_optimization_level: " << c.runtime.graph_optimization_level << "}\n";
}

nlohmann::json TensorSpecsJson(const std::vector<core::TensorSpec>& specs) {
  auto arr = nlohmann::json::array();
  for (const auto& s : specs) {
    arr.push_back({{"name", s.name}, {"datatype", core::DataTypeName(s.dtype)}, {"shape", s.shape},
                   {"dim_names", s.dim_names}});
  }
  return arr;
}

nlohmann::json TensorConfigsJson(const std::vector<core::TensorConfig>& list) {
  auto arr = nlohmann::json::array();
  for (const auto& t : list) {
    arr.push_back({{"name", t.name}, {"data_type", core::DataTypeName(t.dtype)}, {"dims", t.dims}});
  }
  return arr;
}

std::string Num(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

std::string WindowText(const core::DeviceWindow& w) {
  std::string s;
  switch (w.kind) {
    case core::DeviceWindow::Kind::kNone: return "none: every reading is one inference";
    case core::DeviceWindow::Kind::kCount:
      s = "count: the last " + std::to_string(w.count) + " readings, every " + std::to_string(w.hop) + " readings";
      break;
    case core::DeviceWindow::Kind::kTime:
      s = "time: " + Num(w.length_secs) + " s on a " + Num(w.period_secs) + " s grid (" + std::to_string(w.rows()) +
          " slots, empty ones " + (w.fill == core::DeviceWindow::Fill::kZero ? "0" : "repeat the previous value") +
          "), every " + Num(w.hop_secs) + " s";
      break;
  }
  if (w.max_gap_secs > 0) s += "; a pause over " + Num(w.max_gap_secs) + " s starts afresh";
  return s;
}

std::string FieldText(const core::DeviceField& f) {
  std::string s = f.path + (f.length > 0 ? "[" + std::to_string(f.length) + "]" : "");
  s += f.integer ? "  int" : "  float";
  if (!f.unit.empty()) s += "  unit " + f.unit;
  if (f.normalize.kind == core::FieldNormalization::Kind::kMeanStd) {
    s += "  (x - " + Num(f.normalize.mean) + ") / " + Num(f.normalize.std);
  } else if (f.normalize.kind == core::FieldNormalization::Kind::kMinMax) {
    s += "  (x - " + Num(f.normalize.min) + ") / " + Num(f.normalize.max - f.normalize.min);
  }
  s += "  missing: " + std::string(core::MissingPolicyName(f.missing));
  if (f.missing == core::MissingPolicy::kDefault) s += " " + Num(f.default_value);
  return s;
}

std::string ResultText(const core::DeviceResult& r) {
  std::string s = "output " + r.output + ", ";
  const std::string t = r.threshold ? Num(*r.threshold) : "";
  if (r.kind == core::DeviceResult::Kind::kScore) {
    s += r.threshold ? "score " + std::string(r.below ? "< " : "> ") + t + " -> " + r.alert_label + ", else " + r.normal_label
                     : "the score as it is";
  } else {
    s += "classes [";
    for (size_t i = 0; i < r.labels.size(); ++i) s += (i ? ", " : "") + r.labels[i];
    s += "], top " + std::to_string(r.top_k);
    if (!r.alert_labels.empty()) {
      s += "; alert on ";
      for (size_t i = 0; i < r.alert_labels.size(); ++i) s += (i ? ", " : "") + r.alert_labels[i];
      if (r.threshold) s += " with score >= " + t;
    }
  }
  return s + "; on: " + std::string(core::ResultOnName(r.on));
}

bool IsConstant(const DeviceView& v, const std::string& input) {
  return std::find(v.constants.begin(), v.constants.end(), input) != v.constants.end();
}

// "sr = 16000 (INT64 [], with every window)"
std::string ConstantText(const core::DeviceConstant& k) {
  std::string s = k.input + " = ";
  if (k.shape.empty() && k.values.size() == 1) {
    s += Num(k.values[0]);
  } else {
    s += "[";
    for (size_t i = 0; i < std::min<size_t>(k.values.size(), 8); ++i) s += (i ? ", " : "") + Num(k.values[i]);
    s += k.values.size() > 8 ? ", ...]" : "]";
  }
  return s + " (" + k.datatype + " " + core::ShapeToString(core::Shape(k.shape.begin(), k.shape.end())) +
         ", with every window)";
}

std::string TensorPreview(const core::Tensor& t) {
  auto values = pipeline::ToDoubles(t, "tensor");
  if (!values.ok()) return "";
  std::string s;
  for (size_t i = 0; i < std::min<size_t>(values->size(), 8); ++i) s += (i ? ", " : "") + Num((*values)[i]);
  return s + (values->size() > 8 ? ", ..." : "");
}

void RenderDevice(std::ostringstream& out, const core::DeviceContract& c, const DeviceView& v) {
  out << "\nDevice contract (config.yaml device:)\n";
  out << "  device id:  " << (c.id_field.empty() ? "named by the route (MQTT topic capture, HTTP path)" : "field '" + c.id_field + "'") << "\n";
  out << "  time:       field '" << c.timestamp_field << "' in seconds, else the arrival time\n";
  out << "  window:     " << WindowText(c.window) << "\n";
  out << "  devices:    at most " << c.max_devices << ", forgotten after " << Num(c.idle_ttl_secs) << " s idle; field '"
      << c.reset_field << "' resets one\n";
  for (const auto& in : c.inputs) {
    out << "  input " << in.name << " takes, per reading:\n";
    for (const auto& f : in.fields) out << "    " << FieldText(f) << "\n";
  }
  for (const auto& s : c.state) out << "  state:      " << s.input << " <- " << s.output << " (initially " << Num(s.initial) << ")\n";
  for (const auto& k : c.constants) out << "  constant:   " << ConstantText(k) << "\n";
  out << "  order:      field '" << c.seq_field << "' numbers a reading, else the device's reading counter; "
      << "at most " << c.max_backlog << " windows wait per device (stateful)\n";
  out << "  result:     " << ResultText(c.result) << "\n";
  if (!v.error.empty()) return;
  out << "\nA device sends";
  if (v.messages > 1) out << " (" << v.messages << " messages like this before the first inference)";
  out << ":\n  " << v.telemetry_json << "\n";
  if (v.inputs.empty()) return;
  out << "The model sees:\n";
  for (const auto& in : v.inputs) {
    out << "  " << Pad(in.name, 12) << Pad(std::string(core::DataTypeName(in.tensor.dtype())), 6)
        << Pad(core::ShapeToString(in.tensor.shape()), 10) << TensorPreview(in.tensor)
        << (IsConstant(v, in.name) ? "  (constant)" : "") << "\n";
  }
  if (!v.run_error.empty()) {
    out << "Running the model on it failed: " << v.run_error << "\n";
  } else if (!v.reply_json.empty()) {
    out << "The device is told" << (v.reply_sent ? "" : " (when the on: rule lets it through)") << ":\n  " << v.reply_json << "\n";
  }
}

nlohmann::json DeviceJson(const DeviceView& v) {
  nlohmann::json j;
  if (!v.error.empty()) j["error"] = v.error;
  if (!v.telemetry_json.empty()) j["telemetry"] = nlohmann::json::parse(v.telemetry_json);
  j["messages_before_first_inference"] = v.messages;
  auto inputs = nlohmann::json::array();
  for (const auto& in : v.inputs) {
    inputs.push_back({{"name", in.name}, {"datatype", core::DataTypeName(in.tensor.dtype())}, {"shape", in.tensor.shape()}});
    if (IsConstant(v, in.name)) {
      inputs.back()["constant"] = true;
      inputs.back()["value"] = *pipeline::ToDoubles(in.tensor, in.name);
    }
  }
  j["tensors"] = inputs;
  if (!v.reply_json.empty()) j["reply"] = nlohmann::json::parse(v.reply_json);
  if (!v.run_error.empty()) j["run_error"] = v.run_error;
  return j;
}

}  // namespace

std::string RenderInspectText(const InspectReport& r) {
  std::ostringstream out;
  out << "Model " << r.model_name;
  if (!r.model_dir.empty()) out << "  (" << r.model_dir.string() << ")";
  out << "\n";
  if (!r.model_dir.empty()) {
    out << "  versions on disk:  ";
    for (auto v : r.versions_on_disk) out << v << " ";
    out << "\n  served by policy:  ";
    for (auto v : r.versions_served) out << v << " ";
    out << " (version_policy {" << r.config.version_policy.ToString() << "})\n";
  }
  if (!r.file.empty()) out << "  file:              " << r.file.string() << " (" << r.file_size << " bytes)\n";
  out << "  loads in " << r.runtime << ": " << (r.loads ? "yes" : "NO: " + r.load_error) << "\n";
  if (!r.config_error.empty()) out << "  config problem:    " << r.config_error << "\n";
  if (!r.loads) return out.str();
  const auto& sig = r.signature;
  out << "  producer:          " << (sig.producer_name.empty() ? "-" : sig.producer_name + " " + sig.producer_version) << "\n";
  out << "  opsets:            ";
  for (const auto& [domain, v] : sig.opsets) out << OpsetName(domain) << " " << v << "  ";
  out << "\n";
  if (!sig.graph_name.empty()) out << "  graph:             " << sig.graph_name << "\n";
  if (!sig.description.empty()) out << "  description:       " << sig.description << "\n";
  for (const auto& [k, v] : sig.metadata) out << "  metadata:          " << k << " = " << v << "\n";
  out << "\n";
  bool batched = r.config.max_batch_size > 0;
  RenderTensors(out, "Inputs", sig.inputs, r.config.inputs, batched);
  RenderTensors(out, "Outputs", sig.outputs, r.config.outputs, batched);
  out << "\n";
  RenderConfig(out, r.config);
  if (r.config.device && r.device) RenderDevice(out, *r.config.device, *r.device);
  return out.str();
}

std::string RenderInspectJson(const std::vector<InspectReport>& reports) {
  auto arr = nlohmann::json::array();
  for (const auto& r : reports) {
    nlohmann::json j;
    j["name"] = r.model_name;
    j["model_dir"] = r.model_dir.string();
    j["file"] = r.file.string();
    j["file_size"] = r.file_size;
    j["version"] = r.version;
    j["versions_on_disk"] = r.versions_on_disk;
    j["versions_served"] = r.versions_served;
    j["runtime"] = r.runtime;
    j["loads"] = r.loads;
    if (!r.load_error.empty()) j["load_error"] = r.load_error;
    if (!r.config_error.empty()) j["config_error"] = r.config_error;
    if (r.loads) {
      const auto& s = r.signature;
      nlohmann::json opsets = nlohmann::json::object();
      for (const auto& [d, v] : s.opsets) opsets[OpsetName(d)] = v;
      j["signature"] = {{"inputs", TensorSpecsJson(s.inputs)},
                        {"outputs", TensorSpecsJson(s.outputs)},
                        {"opsets", opsets},
                        {"producer_name", s.producer_name},
                        {"producer_version", s.producer_version},
                        {"graph_name", s.graph_name},
                        {"description", s.description},
                        {"metadata", s.metadata}};
      const auto& c = r.config;
      j["config"] = {{"name", c.name},
                     {"platform", c.platform},
                     {"max_batch_size", c.max_batch_size},
                     {"version_policy", c.version_policy.ToString()},
                     {"instance_count", c.instance_count},
                     {"input", TensorConfigsJson(c.inputs)},
                     {"output", TensorConfigsJson(c.outputs)},
                     {"onnxruntime", {{"intra_op_threads", c.runtime.intra_op_threads},
                                      {"graph_optimization_level", c.runtime.graph_optimization_level}}},
                     {"autofilled", c.autofilled}};
      if (r.device) j["device"] = DeviceJson(*r.device);
    }
    arr.push_back(std::move(j));
  }
  return arr.dump(2);
}

}  // namespace infergate::server

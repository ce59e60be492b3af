#include "config/model_config_yaml.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

#include "config/device_contract_yaml.h"
#include "config/escalate_yaml.h"
#include "config/remote_model_yaml.h"
#include "config/yaml_util.h"

namespace infergate::config {
namespace {

using core::ModelConfig;
using core::Status;
using core::StatusOr;

constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();
constexpr int64_t kMaxDims = 1LL << 40;

Status ParseVersionPolicy(const YamlReader& r, const YAML::Node& node, core::VersionPolicy* out) {
  RETURN_IF_ERROR(r.CheckKeys(node, "version_policy", {"latest", "all", "specific"}));
  if (node.size() != 1) return r.Error(node, "version_policy", "give exactly one of latest, all, specific");
  if (node["latest"]) {
    YAML::Node n = node["latest"];
    if (n.IsMap()) {  // Triton's spelling: {latest: {num_versions: N}}
      RETURN_IF_ERROR(r.CheckKeys(n, "version_policy.latest", {"num_versions"}));
      n = n["num_versions"];
    }
    out->kind = core::VersionPolicy::Kind::kLatest;
    ASSIGN_OR_RETURN(out->latest, r.Int(n, "version_policy.latest", 1, 1 << 20));
  } else if (node["all"]) {
    out->kind = core::VersionPolicy::Kind::kAll;
  } else {
    YAML::Node n = node["specific"];
    if (n.IsMap()) {  // Triton's spelling: {specific: {versions: [..]}}
      RETURN_IF_ERROR(r.CheckKeys(n, "version_policy.specific", {"versions"}));
      n = n["versions"];
    }
    out->kind = core::VersionPolicy::Kind::kSpecific;
    ASSIGN_OR_RETURN(out->specific, r.IntList(n, "version_policy.specific", 1, kMaxInt));
  }
  return Status::Ok();
}

Status ParseTensors(const YamlReader& r, const YAML::Node& node, const char* key,
                    std::vector<core::TensorConfig>* out) {
  if (!node.IsSequence()) return r.Error(node, key, "expected a list of {name, data_type, dims}");
  for (const auto& item : node) {
    RETURN_IF_ERROR(r.CheckKeys(item, key, {"name", "data_type", "dims"}));
    core::TensorConfig t;
    if (!item["name"]) return r.Error(item, key, "every entry needs a name");
    ASSIGN_OR_RETURN(t.name, r.String(item["name"], std::string(key) + ".name"));
    if (item["data_type"]) {
      ASSIGN_OR_RETURN(std::string dt, r.String(item["data_type"], "data_type"));
      t.dtype = core::DataTypeFromName(dt);
      if (t.dtype == core::DataType::kInvalid) {
        return r.Error(item["data_type"], "data_type",
                       "unknown datatype '" + dt + "' (BOOL, UINT8..UINT64, INT8..INT64, FP16, BF16, "
                       "FP32, FP64, BYTES; TYPE_ prefix allowed)");
      }
    }
    if (item["dims"]) {
      ASSIGN_OR_RETURN(t.dims, r.IntList(item["dims"], "dims", -1, kMaxDims));
    }
    out->push_back(std::move(t));
  }
  return Status::Ok();
}

Status ParseDynamicBatching(const YamlReader& r, const YAML::Node& node, ModelConfig* config) {
  config->has_dynamic_batching = true;
  if (node.IsNull()) return Status::Ok();  // "dynamic_batching: {}" or "dynamic_batching:"
  RETURN_IF_ERROR(r.CheckKeys(node, "dynamic_batching",
                              {"preferred_batch_size", "max_queue_delay_microseconds",
                               "max_queue_size", "default_timeout_microseconds"}));
  auto& db = config->dynamic_batching;
  if (node["preferred_batch_size"]) {
    ASSIGN_OR_RETURN(db.preferred_batch_size,
                     r.IntList(node["preferred_batch_size"], "preferred_batch_size", 1, 1 << 20));
  }
  if (node["max_queue_delay_microseconds"]) {
    ASSIGN_OR_RETURN(db.max_queue_delay_microseconds,
                     r.Int(node["max_queue_delay_microseconds"], "max_queue_delay_microseconds", 0,
                           60'000'000));
  }
  if (node["max_queue_size"]) {
    ASSIGN_OR_RETURN(db.max_queue_size, r.Int(node["max_queue_size"], "max_queue_size", 0, 1 << 24));
  }
  if (node["default_timeout_microseconds"]) {
    ASSIGN_OR_RETURN(db.default_timeout_microseconds,
                     r.Int(node["default_timeout_microseconds"], "default_timeout_microseconds", 0,
                           kMaxInt / 1000));
  }
  return Status::Ok();
}

Status ParseRuntime(const YamlReader& r, const YAML::Node& node, ModelConfig* config) {
  RETURN_IF_ERROR(r.CheckKeys(node, "onnxruntime", {"intra_op_threads", "graph_optimization_level"}));
  if (node["intra_op_threads"]) {
    ASSIGN_OR_RETURN(int64_t n, r.Int(node["intra_op_threads"], "intra_op_threads", 0, 1024));
    config->runtime.intra_op_threads = static_cast<int>(n);
  }
  if (node["graph_optimization_level"]) {
    ASSIGN_OR_RETURN(std::string level,
                     r.String(node["graph_optimization_level"], "graph_optimization_level"));
    if (level != "disable" && level != "basic" && level != "extended" && level != "all") {
      return r.Error(node["graph_optimization_level"], "graph_optimization_level",
                     "expected disable, basic, extended or all, got '" + level + "'");
    }
    config->runtime.graph_optimization_level = level;
  }
  return Status::Ok();
}

// Triton's instance_group: [{count: N, kind: KIND_CPU}] (counts add up).
Status ParseInstanceGroup(const YamlReader& r, const YAML::Node& node, ModelConfig* config) {
  if (!node.IsSequence()) return r.Error(node, "instance_group", "expected a list of {count, kind}");
  int64_t total = 0;
  for (const auto& g : node) {
    RETURN_IF_ERROR(r.CheckKeys(g, "instance_group", {"count", "kind"}));
    if (g["kind"]) {
      ASSIGN_OR_RETURN(std::string kind, r.String(g["kind"], "kind"));
      if (kind != "KIND_CPU" && kind != "KIND_AUTO") {
        return r.Error(g["kind"], "kind", "only KIND_CPU is supported, got '" + kind + "'");
      }
    }
    int64_t count = 1;
    if (g["count"]) {
      ASSIGN_OR_RETURN(count, r.Int(g["count"], "count", 1, 64));
    }
    total += count;
  }
  config->instance_count = static_cast<int>(std::min<int64_t>(total, 64));
  return Status::Ok();
}

Status ParseRoot(const YamlReader& r, const YAML::Node& root, ModelConfig* config) {
  RETURN_IF_ERROR(r.CheckKeys(root, "config.yaml",
                              {"name", "platform", "backend", "default_model_filename",
                               "max_batch_size", "version_policy", "instance_count",
                               "instance_group", "input", "output", "dynamic_batching",
                               "onnxruntime", "description", "device", "remote", "escalate"}));
  if (root["name"]) {
    ASSIGN_OR_RETURN(std::string name, r.String(root["name"], "name"));
    if (name != config->name) {
      return r.Error(root["name"], "name",
                     "'" + name + "' differs from the model's folder name '" + config->name + "'");
    }
  }
  // Which backend serves these names is decided when a version loads
  // (core::BackendRegistry): an unknown one is that version's load error.
  if (root["platform"]) {
    ASSIGN_OR_RETURN(config->platform, r.String(root["platform"], "platform"));
  }
  if (root["backend"]) {
    ASSIGN_OR_RETURN(config->backend, r.String(root["backend"], "backend"));
  }
  if (root["default_model_filename"]) {
    ASSIGN_OR_RETURN(config->default_model_filename,
                     r.String(root["default_model_filename"], "default_model_filename"));
    if (config->default_model_filename.find('/') != std::string::npos) {
      return r.Error(root["default_model_filename"], "default_model_filename",
                     "must be a file name, not a path");
    }
  }
  if (root["description"]) {
    ASSIGN_OR_RETURN(config->description, r.String(root["description"], "description"));
  }
  if (root["max_batch_size"]) {
    ASSIGN_OR_RETURN(config->max_batch_size, r.Int(root["max_batch_size"], "max_batch_size", 0, 1 << 20));
  }
  if (root["version_policy"]) RETURN_IF_ERROR(ParseVersionPolicy(r, root["version_policy"], &config->version_policy));
  if (root["instance_count"] && root["instance_group"]) {
    return r.Error(root["instance_group"], "instance_group", "give instance_count or instance_group, not both");
  }
  if (root["instance_count"]) {
    ASSIGN_OR_RETURN(int64_t n, r.Int(root["instance_count"], "instance_count", 1, 64));
    config->instance_count = static_cast<int>(n);
  }
  if (root["instance_group"]) RETURN_IF_ERROR(ParseInstanceGroup(r, root["instance_group"], config));
  if (root["input"]) RETURN_IF_ERROR(ParseTensors(r, root["input"], "input", &config->inputs));
  if (root["output"]) RETURN_IF_ERROR(ParseTensors(r, root["output"], "output", &config->outputs));
  if (root["dynamic_batching"]) RETURN_IF_ERROR(ParseDynamicBatching(r, root["dynamic_batching"], config));
  if (root["onnxruntime"]) RETURN_IF_ERROR(ParseRuntime(r, root["onnxruntime"], config));
  if (root["device"]) {
    config->device.emplace();
    RETURN_IF_ERROR(ParseDeviceContract(r, root["device"], &*config->device));
  }
  if (root["remote"]) RETURN_IF_ERROR(ParseRemoteModel(r, root["remote"], config));
  if (root["escalate"]) RETURN_IF_ERROR(ParseEscalate(r, root["escalate"], config));
  return CheckRemoteModel(r, root, *config);
}

}  // namespace

StatusOr<ModelConfig> ParseModelConfig(std::string_view yaml, std::string_view origin,
                                       const std::string& model_name) {
  ModelConfig config;
  config.name = model_name;
  RETURN_IF_ERROR(ParseYamlDocument(yaml, origin, &config, &ParseRoot));
  return config;
}

StatusOr<ModelConfig> ParseModelConfigFile(const std::filesystem::path& file,
                                           const std::string& model_name) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    ModelConfig config;
    config.name = model_name;
    return config;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return core::InvalidArgument(file.string() + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1u << 20)) return core::InvalidArgument(file.string() + ": larger than 1 MiB");
  ASSIGN_OR_RETURN(ModelConfig config, ParseModelConfig(text.str(), file.string(), model_name));
  ResolveRemotePaths(file.parent_path(), &config);
  return config;
}

}  // namespace infergate::config

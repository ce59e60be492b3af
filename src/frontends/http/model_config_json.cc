// The effective model config in the JSON shape of Triton's ModelConfig
// protobuf (GET /v2/models/{m}/config), so Triton tooling reads it.
#include "frontends/http/routes.h"
#include "protocol/json_writer.h"

namespace infergate::http {
namespace {

using protocol::JsonWriter;

void WriteIntArray(const std::vector<int64_t>& values, JsonWriter* w) {
  w->BeginArray();
  for (int64_t v : values) w->Int(v);
  w->EndArray();
}

void WriteTensors(std::string_view key, const std::vector<core::TensorConfig>& tensors, JsonWriter* w) {
  w->Key(key);
  w->BeginArray();
  for (const auto& t : tensors) {
    w->BeginObject();
    w->Member("name", std::string_view(t.name));
    w->Member("data_type", core::TritonDataTypeName(t.dtype));
    w->Key("dims");
    WriteIntArray(t.dims, w);
    w->EndObject();
  }
  w->EndArray();
}

void WriteVersionPolicy(const core::VersionPolicy& policy, JsonWriter* w) {
  w->Key("version_policy");
  w->BeginObject();
  switch (policy.kind) {
    case core::VersionPolicy::Kind::kLatest:
      w->Key("latest");
      w->BeginObject();
      w->Member("num_versions", policy.latest);
      w->EndObject();
      break;
    case core::VersionPolicy::Kind::kAll:
      w->Key("all");
      w->BeginObject();
      w->EndObject();
      break;
    case core::VersionPolicy::Kind::kSpecific:
      w->Key("specific");
      w->BeginObject();
      w->Key("versions");
      WriteIntArray(policy.specific, w);
      w->EndObject();
      break;
  }
  w->EndObject();
}

void WriteDynamicBatching(const core::DynamicBatchingConfig& b, JsonWriter* w) {
  w->Key("dynamic_batching");
  w->BeginObject();
  w->Key("preferred_batch_size");
  WriteIntArray(b.preferred_batch_size, w);
  w->Member("max_queue_delay_microseconds", b.max_queue_delay_microseconds);
  w->Key("default_queue_policy");
  w->BeginObject();
  w->Member("max_queue_size", b.max_queue_size);
  w->Member("default_timeout_microseconds", b.default_timeout_microseconds);
  w->EndObject();
  w->EndObject();
}

}  // namespace

std::string ModelConfigJson(const core::ModelConfig& config) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Member("name", std::string_view(config.name));
  w.Member("platform", std::string_view(config.platform));
  w.Member("backend", std::string_view(config.backend));
  WriteVersionPolicy(config.version_policy, &w);
  w.Member("max_batch_size", config.max_batch_size);
  WriteTensors("input", config.inputs, &w);
  WriteTensors("output", config.outputs, &w);
  w.Key("instance_group");
  w.BeginArray();
  w.BeginObject();
  w.Member("name", std::string_view(config.name));
  w.Member("kind", "KIND_CPU");
  w.Member("count", static_cast<int64_t>(config.instance_count));
  w.EndObject();
  w.EndArray();
  w.Member("default_model_filename", std::string_view(config.default_model_filename));
  if (config.has_dynamic_batching) WriteDynamicBatching(config.dynamic_batching, &w);
  if (!config.description.empty()) {
    w.Key("parameters");
    w.BeginObject();
    w.Key("description");
    w.BeginObject();
    w.Member("string_value", std::string_view(config.description));
    w.EndObject();
    w.EndObject();
  }
  w.EndObject();
  return body;
}

}  // namespace infergate::http

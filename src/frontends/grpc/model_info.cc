#include "frontends/grpc/model_info.h"

#include "frontends/grpc/codec.h"

namespace infergate::grpc_frontend {
namespace {

using core::Status;
using core::StatusOr;

void AddTensorMetadata(const core::TensorConfig& t, int64_t max_batch_size,
                       google::protobuf::RepeatedPtrField<inference::ModelMetadataResponse::TensorMetadata>* out) {
  auto* m = out->Add();
  m->set_name(t.name);
  m->set_datatype(std::string(core::DataTypeName(t.dtype)));
  if (max_batch_size > 0) m->add_shape(core::kDynamicDim);
  for (int64_t d : t.dims) m->add_shape(d);
}

// Triton's enum numbering follows the order of core::DataType except that
// BF16 is last and BYTES is TYPE_STRING.
inference::DataType ToConfigType(core::DataType type) {
  switch (type) {
    case core::DataType::kBool: return inference::TYPE_BOOL;
    case core::DataType::kUint8: return inference::TYPE_UINT8;
    case core::DataType::kUint16: return inference::TYPE_UINT16;
    case core::DataType::kUint32: return inference::TYPE_UINT32;
    case core::DataType::kUint64: return inference::TYPE_UINT64;
    case core::DataType::kInt8: return inference::TYPE_INT8;
    case core::DataType::kInt16: return inference::TYPE_INT16;
    case core::DataType::kInt32: return inference::TYPE_INT32;
    case core::DataType::kInt64: return inference::TYPE_INT64;
    case core::DataType::kFp16: return inference::TYPE_FP16;
    case core::DataType::kBf16: return inference::TYPE_BF16;
    case core::DataType::kFp32: return inference::TYPE_FP32;
    case core::DataType::kFp64: return inference::TYPE_FP64;
    case core::DataType::kBytes: return inference::TYPE_STRING;
    case core::DataType::kInvalid: break;
  }
  return inference::TYPE_INVALID;
}

void FillVersionPolicy(const core::VersionPolicy& p, inference::ModelVersionPolicy* out) {
  switch (p.kind) {
    case core::VersionPolicy::Kind::kLatest:
      out->mutable_latest()->set_num_versions(static_cast<uint32_t>(p.latest));
      break;
    case core::VersionPolicy::Kind::kAll: out->mutable_all(); break;
    case core::VersionPolicy::Kind::kSpecific:
      for (int64_t v : p.specific) out->mutable_specific()->add_versions(v);
      break;
  }
}

int32_t GraphLevel(const std::string& level) {
  if (level == "disable") return -1;
  if (level == "basic") return 1;
  if (level == "extended") return 2;
  return 0;  // "all": ONNX Runtime's default
}

void FillConfig(const core::ModelConfig& c, inference::ModelConfig* out) {
  out->set_name(c.name);
  out->set_platform(c.platform);
  out->set_backend(c.backend);
  out->set_default_model_filename(c.default_model_filename);
  out->set_max_batch_size(static_cast<int32_t>(std::max<int64_t>(c.max_batch_size, 0)));
  FillVersionPolicy(c.version_policy, out->mutable_version_policy());
  auto* group = out->add_instance_group();
  group->set_name(c.name);
  group->set_count(c.instance_count);
  group->set_kind(inference::ModelInstanceGroup::KIND_CPU);
  for (const auto& t : c.inputs) {
    auto* in = out->add_input();
    in->set_name(t.name);
    in->set_data_type(ToConfigType(t.dtype));
    for (int64_t d : t.dims) in->add_dims(d);
  }
  for (const auto& t : c.outputs) {
    auto* o = out->add_output();
    o->set_name(t.name);
    o->set_data_type(ToConfigType(t.dtype));
    for (int64_t d : t.dims) o->add_dims(d);
  }
  if (c.has_dynamic_batching) {
    auto* db = out->mutable_dynamic_batching();
    for (int64_t s : c.dynamic_batching.preferred_batch_size) db->add_preferred_batch_size(static_cast<int32_t>(s));
    db->set_max_queue_delay_microseconds(static_cast<uint64_t>(c.dynamic_batching.max_queue_delay_microseconds));
    auto* q = db->mutable_default_queue_policy();
    q->set_max_queue_size(static_cast<uint32_t>(c.dynamic_batching.max_queue_size));
    q->set_default_timeout_microseconds(static_cast<uint64_t>(c.dynamic_batching.default_timeout_microseconds));
  }
  out->mutable_optimization()->mutable_graph()->set_level(GraphLevel(c.runtime.graph_optimization_level));
  if (c.runtime.intra_op_threads > 0) {
    (*out->mutable_parameters())["intra_op_thread_count"].set_string_value(
        std::to_string(c.runtime.intra_op_threads));
  }
}

void SetDuration(const core::DurationStat& d, inference::StatisticDuration* out) {
  out->set_count(d.count);
  out->set_ns(d.ns);
}

void FillStatistics(const core::StatisticsSnapshot& s, inference::ModelStatistics* out) {
  out->set_name(s.name);
  out->set_version(std::to_string(s.version));
  out->set_last_inference(s.last_inference_ms);
  out->set_inference_count(s.inference_count);
  out->set_execution_count(s.execution_count);
  auto* stats = out->mutable_inference_stats();
  SetDuration(s.success, stats->mutable_success());
  SetDuration(s.fail, stats->mutable_fail());
  SetDuration(s.queue, stats->mutable_queue());
  SetDuration(s.compute_input, stats->mutable_compute_input());
  SetDuration(s.compute_infer, stats->mutable_compute_infer());
  SetDuration(s.compute_output, stats->mutable_compute_output());
  stats->mutable_cache_hit();
  stats->mutable_cache_miss();
  for (const auto& b : s.batch_stats) {
    auto* batch = out->add_batch_stats();
    batch->set_batch_size(b.batch_size);
    SetDuration(b.compute_input, batch->mutable_compute_input());
    SetDuration(b.compute_infer, batch->mutable_compute_infer());
    SetDuration(b.compute_output, batch->mutable_compute_output());
  }
}

// Adds the version's snapshot; a version unloaded meanwhile has none.
void AddStatistics(const core::StatisticsSource& source, const core::ModelVersion& v,
                   inference::ModelStatisticsResponse* out) {
  if (auto s = source.Snapshot(v.name(), v.version()); s.ok()) FillStatistics(*s, out->add_model_stats());
}

}  // namespace

StatusOr<std::shared_ptr<const core::ModelVersion>> FindVersion(const core::ModelRepository& repository,
                                                                const std::string& name,
                                                                const std::string& version) {
  if (name.empty()) return core::InvalidArgument("model name is empty");
  ASSIGN_OR_RETURN(int64_t v, ParseVersion(version));
  return repository.Get(name, v);
}

StatusOr<inference::ModelMetadataResponse> ModelMetadata(const core::ModelRepository& repository,
                                                         const inference::ModelMetadataRequest& request) {
  ASSIGN_OR_RETURN(auto version, FindVersion(repository, request.name(), request.version()));
  inference::ModelMetadataResponse out;
  out.set_name(version->name());
  for (const auto& model : repository.Index()) {
    if (model.name != version->name()) continue;
    for (const auto& v : model.versions) {
      if (v.state == core::ModelState::kReady) out.add_versions(std::to_string(v.version));
    }
  }
  out.set_platform(version->config().platform);
  const auto& c = version->config();
  for (const auto& t : c.inputs) AddTensorMetadata(t, c.max_batch_size, out.mutable_inputs());
  for (const auto& t : c.outputs) AddTensorMetadata(t, c.max_batch_size, out.mutable_outputs());
  return out;
}

StatusOr<bool> ModelReady(const core::ModelRepository& repository, const inference::ModelReadyRequest& request) {
  auto version = FindVersion(repository, request.name(), request.version());
  if (version.ok()) return true;
  if (version.status().code() == core::StatusCode::kUnavailable) return false;
  return version.status();
}

StatusOr<inference::ModelConfigResponse> ModelConfig(const core::ModelRepository& repository,
                                                     const inference::ModelConfigRequest& request) {
  ASSIGN_OR_RETURN(auto version, FindVersion(repository, request.name(), request.version()));
  inference::ModelConfigResponse out;
  FillConfig(version->config(), out.mutable_config());
  return out;
}

inference::RepositoryIndexResponse RepositoryIndex(const core::ModelRepository& repository,
                                                   const inference::RepositoryIndexRequest& request) {
  inference::RepositoryIndexResponse out;
  for (const auto& model : repository.Index()) {
    if (model.versions.empty() && !request.ready()) {
      auto* m = out.add_models();
      m->set_name(model.name);
      m->set_state(std::string(core::ModelStateName(core::ModelState::kUnavailable)));
      m->set_reason(model.reason);
    }
    for (const auto& v : model.versions) {
      if (request.ready() && v.state != core::ModelState::kReady) continue;
      auto* m = out.add_models();
      m->set_name(model.name);
      m->set_version(std::to_string(v.version));
      m->set_state(std::string(core::ModelStateName(v.state)));
      m->set_reason(v.reason);
    }
  }
  return out;
}

StatusOr<inference::ModelStatisticsResponse> ModelStatistics(const core::ModelRepository& repository,
                                                             const core::StatisticsSource* statistics,
                                                             const inference::ModelStatisticsRequest& request) {
  if (!statistics) return core::Unimplemented("statistics are not available in this server");
  inference::ModelStatisticsResponse out;
  if (!request.name().empty() && !request.version().empty()) {
    ASSIGN_OR_RETURN(auto version, FindVersion(repository, request.name(), request.version()));
    AddStatistics(*statistics, *version, &out);
    return out;
  }
  // Every READY version of the named model, or of every model.
  bool found = false;
  for (const auto& model : repository.Index()) {
    if (!request.name().empty() && model.name != request.name()) continue;
    for (const auto& v : model.versions) {
      if (v.state != core::ModelState::kReady) continue;
      auto version = repository.Get(model.name, v.version);
      if (!version.ok()) continue;
      found = true;
      AddStatistics(*statistics, **version, &out);
    }
  }
  if (!request.name().empty() && !found) {
    // Unknown, or known with no READY version: the repository says which.
    ASSIGN_OR_RETURN(auto version, FindVersion(repository, request.name(), request.version()));
    AddStatistics(*statistics, *version, &out);
  }
  return out;
}

}  // namespace infergate::grpc_frontend

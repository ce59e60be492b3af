// GET /v2/models[/{m}[/versions/{v}]]/stats in the shape of Triton's
// statistics extension, rendered from core::StatisticsSource snapshots (the
// same figures gRPC ModelStatistics and /metrics report).
#include "frontends/http/routes.h"
#include "protocol/json_writer.h"

namespace infergate::http {
namespace {

using protocol::JsonWriter;

void WriteDuration(std::string_view key, const core::DurationStat& d, JsonWriter* w) {
  w->Key(key);
  w->BeginObject();
  w->Member("count", static_cast<int64_t>(d.count));
  w->Member("ns", static_cast<int64_t>(d.ns));
  w->EndObject();
}

void WriteBatch(const core::BatchStat& b, JsonWriter* w) {
  w->BeginObject();
  w->Member("batch_size", static_cast<int64_t>(b.batch_size));
  WriteDuration("compute_input", b.compute_input, w);
  WriteDuration("compute_infer", b.compute_infer, w);
  WriteDuration("compute_output", b.compute_output, w);
  w->EndObject();
}

void WriteVersion(const core::StatisticsSnapshot& s, JsonWriter* w) {
  w->BeginObject();
  w->Member("name", std::string_view(s.name));
  w->Member("version", std::string_view(std::to_string(s.version)));
  w->Member("last_inference", static_cast<int64_t>(s.last_inference_ms));
  w->Member("inference_count", static_cast<int64_t>(s.inference_count));
  w->Member("execution_count", static_cast<int64_t>(s.execution_count));
  w->Key("inference_stats");
  w->BeginObject();
  WriteDuration("success", s.success, w);
  WriteDuration("fail", s.fail, w);
  WriteDuration("queue", s.queue, w);
  WriteDuration("compute_input", s.compute_input, w);
  WriteDuration("compute_infer", s.compute_infer, w);
  WriteDuration("compute_output", s.compute_output, w);
  WriteDuration("cache_hit", {}, w);
  WriteDuration("cache_miss", {}, w);
  w->EndObject();
  w->Key("batch_stats");
  w->BeginArray();
  for (const auto& b : s.batch_stats) WriteBatch(b, w);
  w->EndArray();
  w->Key("memory_usage");
  w->BeginArray();
  w->EndArray();
  w->EndObject();
}

}  // namespace

HttpResponse ModelStats(const RouteContext& ctx, const ModelPath& path, const auth::Grant& grant) {
  if (!ctx.statistics) return ErrorResponse(501, "statistics are not available in this server");
  std::vector<std::pair<std::string, int64_t>> versions;
  if (!path.name.empty() && path.version != core::kLatestVersion) {
    auto v = ctx.repository->Get(path.name, path.version);
    if (!v.ok()) return ErrorResponse(v.status());
    versions.emplace_back(path.name, path.version);
  } else {
    bool found = path.name.empty();
    for (const auto& m : ctx.repository->Index()) {
      if ((!path.name.empty() && m.name != path.name) || !grant.AllowsModel(m.name)) continue;
      found = true;
      for (const auto& v : m.versions) {
        if (v.state == core::ModelState::kReady) versions.emplace_back(m.name, v.version);
      }
    }
    if (!found) return ErrorResponse(404, "unknown model '" + path.name + "'");
  }
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("model_stats");
  w.BeginArray();
  for (const auto& [model, version] : versions) {
    // A version unloaded since the index was read has no snapshot; skip it.
    if (auto s = ctx.statistics->Snapshot(model, version); s.ok()) WriteVersion(*s, &w);
  }
  w.EndArray();
  w.EndObject();
  return JsonResponse(std::move(body));
}

}  // namespace infergate::http

// Health, server and model metadata, model readiness and /metrics.
#include "core/status_map.h"
#include "frontends/http/routes.h"
#include "protocol/json_writer.h"

namespace infergate::http {
namespace {

using protocol::JsonWriter;

// The extensions this server implements, as Triton names them.
constexpr const char* kExtensions[] = {"binary_tensor_data", "model_configuration",
                                       "model_repository", "statistics"};

void WriteTensorMetadata(const core::TensorConfig& t, int64_t max_batch_size, JsonWriter* w) {
  w->BeginObject();
  w->Member("name", std::string_view(t.name));
  w->Member("datatype", core::DataTypeName(t.dtype));
  w->Key("shape");
  w->BeginArray();
  if (max_batch_size > 0) w->Int(core::kDynamicDim);
  for (int64_t d : t.dims) w->Int(d);
  w->EndArray();
  w->EndObject();
}

// READY versions of `model`, ascending.
std::vector<int64_t> ReadyVersions(const core::ModelRepository& repository, const std::string& model) {
  std::vector<int64_t> versions;
  for (const auto& m : repository.Index()) {
    if (m.name != model) continue;
    for (const auto& v : m.versions) {
      if (v.state == core::ModelState::kReady) versions.push_back(v.version);
    }
  }
  return versions;
}

}  // namespace

HttpResponse HealthLive(const RouteContext&) { return JsonResponse(""); }

HttpResponse HealthReady(const RouteContext& ctx) {
  if (ctx.ready && ctx.ready->load()) return JsonResponse("");
  return ErrorResponse(503, "the server is not ready");
}

HttpResponse ServerMetadata(const RouteContext& ctx) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Member("name", std::string_view(ctx.server_name));
  w.Member("version", std::string_view(ctx.server_version));
  w.Key("extensions");
  w.BeginArray();
  for (const char* e : kExtensions) w.String(e);
  if (ctx.devices) w.String("device_telemetry");  // POST .../devices/{d}/telemetry
  if (ctx.shared_memory) w.String("system_shared_memory");
  w.EndArray();
  w.EndObject();
  return JsonResponse(std::move(body));
}

HttpResponse ModelMetadata(const RouteContext& ctx, const ModelPath& path) {
  auto version = ctx.repository->Get(path.name, path.version);
  if (!version.ok()) return ErrorResponse(version.status());
  const core::ModelConfig& config = (*version)->config();
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Member("name", std::string_view(config.name));
  w.Key("versions");
  w.BeginArray();
  for (int64_t v : ReadyVersions(*ctx.repository, path.name)) w.String(std::to_string(v));
  w.EndArray();
  w.Member("platform", std::string_view(config.platform));
  w.Key("inputs");
  w.BeginArray();
  for (const auto& t : config.inputs) WriteTensorMetadata(t, config.max_batch_size, &w);
  w.EndArray();
  w.Key("outputs");
  w.BeginArray();
  for (const auto& t : config.outputs) WriteTensorMetadata(t, config.max_batch_size, &w);
  w.EndArray();
  w.EndObject();
  return JsonResponse(std::move(body));
}

HttpResponse ModelReady(const RouteContext& ctx, const ModelPath& path) {
  auto version = ctx.repository->Get(path.name, path.version);
  if (!version.ok()) return ErrorResponse(version.status());
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Member("name", std::string_view(path.name));
  w.Member("ready", true);
  w.EndObject();
  return JsonResponse(std::move(body));
}

HttpResponse ModelConfig(const RouteContext& ctx, const ModelPath& path) {
  auto version = ctx.repository->Get(path.name, path.version);
  if (!version.ok()) return ErrorResponse(version.status());
  return JsonResponse(ModelConfigJson((*version)->config()));
}

HttpResponse Metrics(const RouteContext& ctx) {
  HttpResponse r = JsonResponse(ctx.metrics->RenderPrometheus());
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

}  // namespace infergate::http

// The v2 REST endpoints as plain functions from a request to a response.
// Router (router.h) matches the URL and calls them; unit tests call them
// without a socket.
//
// Thread-safety: every function may be called from any thread; those that
// take a Reply call it exactly once, possibly later from another thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "auth/policy.h"
#include "core/dispatcher.h"
#include "core/metrics.h"
#include "core/model_repository.h"
#include "core/shared_memory.h"
#include "core/statistics.h"
#include "engine/model_control.h"
#include "engine/worker.h"
#include "frontends/http/http_metrics.h"
#include "frontends/http/http_types.h"

namespace infergate::pipeline {
class DeviceService;
}

namespace infergate::http {

// What the routes use; nothing owned, everything outlives the routes.
struct RouteContext {
  core::InferenceService* inference = nullptr;
  core::ModelRepository* repository = nullptr;
  core::MetricsRegistry* metrics = nullptr;
  // Per model version statistics (the dispatcher); null: the stats routes
  // answer 501.
  const core::StatisticsSource* statistics = nullptr;
  HttpMetrics* http_metrics = nullptr;
  // The repository API (load / unload) with its policy; null: refused.
  engine::ModelControl* model_control = nullptr;
  // The device pipeline (telemetry through the models' device contracts);
  // null: no telemetry endpoint.
  pipeline::DeviceService* devices = nullptr;
  // Client-registered shared memory; null: the extension is off.
  core::SharedMemoryRegistry* shared_memory = nullptr;
  // Who may do what; required (the Router asks it once per request).
  const auth::Policy* policy = nullptr;
  const std::atomic<bool>* ready = nullptr;  // the server is ready for inference
  // Where large /infer bodies are decoded (HttpOptions::decode_offload_bytes)
  // with its own decoder, used on that thread only; null: on the IO thread.
  engine::Worker* decode_worker = nullptr;
  protocol::InferRequestDecoder* worker_decoder = nullptr;
  size_t decode_offload_bytes = 0;
  // The repository as a fleet origin; empty: its endpoints answer 404.
  RepositoryOrigin origin;
  std::string server_name = "infergate";
  std::string server_version;
};

// A model URL: /v2/models/{name}[/versions/{version}][/{action}].
struct ModelPath {
  std::string name;
  int64_t version = core::kLatestVersion;
};

// GET /v2/health/live, /v2/health/ready
HttpResponse HealthLive(const RouteContext& ctx);
HttpResponse HealthReady(const RouteContext& ctx);
// GET /v2: name, version and the extensions implemented.
HttpResponse ServerMetadata(const RouteContext& ctx);
// GET /v2/models/{m}[/versions/{v}], .../ready, .../config
HttpResponse ModelMetadata(const RouteContext& ctx, const ModelPath& path);
HttpResponse ModelReady(const RouteContext& ctx, const ModelPath& path);
HttpResponse ModelConfig(const RouteContext& ctx, const ModelPath& path);
// GET /v2/models/{m}[/versions/{v}]/stats, or every model's with an empty
// name (those `grant` allows).
HttpResponse ModelStats(const RouteContext& ctx, const ModelPath& path, const auth::Grant& grant = {});
// GET /metrics (Prometheus text format)
HttpResponse Metrics(const RouteContext& ctx);

// POST /v2/models/{m}[/versions/{v}]/infer: decodes (a large body on
// ctx.decode_worker; 503 when its queue is full), submits, replies from the
// completion callback.
void Infer(const RouteContext& ctx, const HttpRequest& request, const ModelPath& path, Reply reply);

// POST /v2/models/{m}[/versions/{v}]/devices/{device}/telemetry: one device
// message (a telemetry JSON object) through pipeline::DeviceService. Replies (docs/configuration.md, "Device telemetry over HTTP"):
//   202 {"status":"window filling",...}  no window completed yet
//   202 {"status":"queued",...}          stateful: the window waits for the
//                                         device's in-flight one (whose reply carries it)
//   200 the result object                 one window completed and on: says send
//   200 [result, ...]                     several did (one message, many readings)
//   200 {"status":"no change"|"no alert",...}  on: kept quiet
// Errors through core/status_map.h, counted by reason.
void DeviceTelemetry(const RouteContext& ctx, const HttpRequest& request, const ModelPath& path,
                     const std::string& device, Reply reply);

// Triton's system shared memory extension (v2/systemsharedmemory/...):
// GET [region/{r}/]status, POST region/{r}/register with
// {"key","offset","byte_size"}, POST [region/{r}/]unregister. An empty
// `region` means every region (status, unregister).
HttpResponse SharedMemoryStatus(const RouteContext& ctx, const std::string& region);
HttpResponse SharedMemoryRegister(const RouteContext& ctx, const std::string& region,
                                  const HttpRequest& request);
HttpResponse SharedMemoryUnregister(const RouteContext& ctx, const std::string& region);

// POST /v2/repository/index: the models `grant` allows.
HttpResponse RepositoryIndex(const RouteContext& ctx, const HttpRequest& request, const auth::Grant& grant = {});
// POST /v2/repository/models/{m}/load and .../unload (through ModelControl).
void RepositoryLoad(const RouteContext& ctx, const std::string& model, bool load, Reply reply);

// GET /v2/repository/manifest: the fleet manifest of the models `grant`
// allows (docs/fleet-sync.md).
HttpResponse RepositoryManifest(const RouteContext& ctx, const auth::Grant& grant = {});
// GET /v2/repository/files/{model}/{path...}: a file the manifest lists,
// streamed; 404 for anything else (a path with "..", a hidden name, a
// version not published).
HttpResponse RepositoryFile(const RouteContext& ctx, const std::string& model, const std::string& path);

// The model config in the JSON shape of Triton's ModelConfig protobuf.
std::string ModelConfigJson(const core::ModelConfig& config);

}  // namespace infergate::http

// GET /v2/models[/{m}[/versions/{v}]]/stats in the shape of Triton's
// statistics extension, read from the metrics the dispatcher and the
// scheduler keep per model version.
#include "frontends/http/routes.h"
#include "protocol/json_writer.h"

namespace infergate::http {
namespace {

using protocol::JsonWriter;

struct Duration {
  uint64_t count = 0;
  double seconds = 0;
};

void WriteDuration(std::string_view key, Duration d, JsonWriter* w) {
  w->Key(key);
  w->BeginObject();
  w->Member("count", static_cast<int64_t>(d.count));
  w->Member("ns", static_cast<int64_t>(d.seconds * 1e9));
  w->EndObject();
}

class VersionStats {
 public:
  VersionStats(const core::MetricsRegistry& metrics, const std::string& model, int64_t version)
      : metrics_(metrics), labels_{{"model", model}, {"version", std::to_string(version)}} {}

  uint64_t Count(const char* name, const char* outcome = nullptr) const {
    core::Labels labels = labels_;
    if (outcome) labels.emplace_back("outcome", outcome);
    const core::Counter* c = metrics_.FindCounter(name, labels);
    return c ? c->value() : 0;
  }
  Duration Histogram(const char* name) const {
    const core::Histogram* h = metrics_.FindHistogram(name, labels_);
    return h ? Duration{h->count(), h->sum()} : Duration{};
  }

 private:
  const core::MetricsRegistry& metrics_;
  core::Labels labels_;
};

void WriteVersion(const core::MetricsRegistry& metrics, const std::string& model, int64_t version,
                  JsonWriter* w) {
  VersionStats s(metrics, model, version);
  const Duration total = s.Histogram("infergate_inference_request_duration_seconds");
  const uint64_t success = s.Count("infergate_inference_requests_total", "success");
  const uint64_t failure = s.Count("infergate_inference_requests_total", "failure");
  // The request-duration histogram holds both outcomes; split its time by count.
  const double per_request = total.count ? total.seconds / static_cast<double>(total.count) : 0;
  w->BeginObject();
  w->Member("name", std::string_view(model));
  w->Member("version", std::string_view(std::to_string(version)));
  w->Member("inference_count",
            static_cast<int64_t>(s.Histogram("infergate_inference_batch_size").seconds));
  w->Member("execution_count",
            static_cast<int64_t>(s.Count("infergate_inference_executions_total")));
  w->Key("inference_stats");
  w->BeginObject();
  WriteDuration("success", {success, per_request * static_cast<double>(success)}, w);
  WriteDuration("fail", {failure, per_request * static_cast<double>(failure)}, w);
  WriteDuration("queue", s.Histogram("infergate_inference_queue_duration_seconds"), w);
  WriteDuration("compute_infer", s.Histogram("infergate_inference_compute_duration_seconds"), w);
  w->EndObject();
  w->EndObject();
}

}  // namespace

HttpResponse ModelStats(const RouteContext& ctx, const ModelPath& path) {
  std::vector<std::pair<std::string, int64_t>> versions;
  if (!path.name.empty() && path.version != core::kLatestVersion) {
    auto v = ctx.repository->Get(path.name, path.version);
    if (!v.ok()) return ErrorResponse(v.status());
    versions.emplace_back(path.name, path.version);
  } else {
    bool found = path.name.empty();
    for (const auto& m : ctx.repository->Index()) {
      if (!path.name.empty() && m.name != path.name) continue;
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
  for (const auto& [model, version] : versions) WriteVersion(*ctx.metrics, model, version, &w);
  w.EndArray();
  w.EndObject();
  return JsonResponse(std::move(body));
}

}  // namespace infergate::http

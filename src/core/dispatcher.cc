#include "core/dispatcher.h"

#include <algorithm>
#include <chrono>

namespace infergate::core {

// Per-version metrics, looked up once when the version is loaded.
struct Dispatcher::VersionMetrics {
  Counter* success;
  Counter* failure;
  Histogram* duration;
  Gauge* in_flight;
};

Status ValidateRequest(const ModelConfig& config, const InferRequest& request) {
  RETURN_IF_ERROR(ValidateInputs(RequestInputSpecs(config), request.inputs));
  if (config.max_batch_size > 0 && !request.inputs.empty()) {
    const int64_t batch = request.inputs.front().tensor.shape().front();
    for (const auto& in : request.inputs) {
      if (in.tensor.shape().front() != batch) {
        return InvalidArgument("input '" + in.name + "' has batch size " +
                               std::to_string(in.tensor.shape().front()) + " but input '" +
                               request.inputs.front().name + "' has " + std::to_string(batch) +
                               "; the first dimension is the batch and must agree");
      }
    }
    if (batch < 1 || batch > config.max_batch_size) {
      return InvalidArgument("batch size " + std::to_string(batch) + " (the first dimension of input '" +
                             request.inputs.front().name + "') must be from 1 to max_batch_size " +
                             std::to_string(config.max_batch_size));
    }
  }
  for (size_t i = 0; i < request.outputs.size(); ++i) {
    const std::string& name = request.outputs[i].name;
    if (std::none_of(config.outputs.begin(), config.outputs.end(),
                     [&](const TensorConfig& t) { return t.name == name; })) {
      std::string known;
      for (const auto& t : config.outputs) known += (known.empty() ? "'" : ", '") + t.name + "'";
      return InvalidArgument("unknown output '" + name + "'; the model's outputs are " + known);
    }
    for (size_t j = 0; j < i; ++j) {
      if (request.outputs[j].name == name) {
        return InvalidArgument("output '" + name + "' is requested more than once");
      }
    }
  }
  return Status::Ok();
}

Dispatcher::Dispatcher(ModelRepository* repository, MetricsRegistry* metrics, const Clock* clock)
    : repository_(repository), metrics_(metrics), clock_(clock) {
  repository_->AddListener([this](const RepositoryEvent& e) { OnRepositoryEvent(e); });
}

Dispatcher::~Dispatcher() { Shutdown(); }

void Dispatcher::Shutdown() {
  std::map<const ModelVersion*, Entry> entries;
  {
    std::lock_guard lock(mu_);
    shut_down_ = true;
    entries.swap(entries_);
  }
  entries.clear();  // drains every scheduler outside the lock
}

void Dispatcher::OnRepositoryEvent(const RepositoryEvent& event) {
  const ModelVersion* key = event.version.get();
  if (event.kind == RepositoryEvent::Kind::kVersionRemoved) {
    Entry removed;
    {
      std::lock_guard lock(mu_);
      auto it = entries_.find(key);
      if (it == entries_.end()) return;
      removed = std::move(it->second);
      entries_.erase(it);
    }
    return;  // `removed` drains its scheduler here, outside the lock
  }
  Entry entry;
  auto scheduler = Scheduler::Create(event.version, SchedulerOptions{clock_, metrics_});
  if (scheduler.ok()) {
    entry.scheduler = std::move(*scheduler);
  } else {
    entry.error = scheduler.status();
  }
  const Labels labels = {{"model", event.version->name()},
                         {"version", std::to_string(event.version->version())}};
  auto with = [&](const char* key_name, const char* value) {
    Labels l = labels;
    l.emplace_back(key_name, value);
    return l;
  };
  entry.metrics = std::make_shared<VersionMetrics>(VersionMetrics{
      &metrics_->GetCounter("infergate_inference_requests_total",
                            "Inference requests completed, by model, version and outcome",
                            with("outcome", "success")),
      &metrics_->GetCounter("infergate_inference_requests_total",
                            "Inference requests completed, by model, version and outcome",
                            with("outcome", "failure")),
      &metrics_->GetHistogram("infergate_inference_request_duration_seconds",
                              "Time from admission to response, seconds", labels, LatencyBuckets()),
      &metrics_->GetGauge("infergate_inference_in_flight", "Requests admitted and not yet answered",
                          labels)});
  std::lock_guard lock(mu_);
  if (!shut_down_) entries_[key] = std::move(entry);
}

void Dispatcher::Refuse(std::unique_ptr<InferRequest> request, Status status) {
  metrics_
      ->GetCounter("infergate_requests_refused_total",
                   "Requests refused before reaching a model's queue, by status code",
                   {{"code", std::string(StatusCodeName(status.code()))}})
      .Increment();
  auto callback = std::move(request->on_complete);
  callback(MakeErrorResponse(*request, std::move(status)));
}

void Dispatcher::Submit(std::unique_ptr<InferRequest> request) {
  if (request->arrival == TimePoint{}) request->arrival = clock_->Now();
  // A version can be swapped between the lookup and the enqueue; the next
  // attempt then finds its successor.
  Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto version = repository_->Get(request->model_name, request->model_version);
    if (!version.ok()) return Refuse(std::move(request), version.status());
    Entry entry;
    bool shut_down = false;
    {
      std::lock_guard lock(mu_);
      shut_down = shut_down_;
      auto it = entries_.find(version->get());
      if (it != entries_.end()) entry = it->second;
    }
    if (shut_down) return Refuse(std::move(request), Unavailable("the server is shutting down"));
    if (!entry.scheduler && !entry.error.ok()) return Refuse(std::move(request), entry.error);
    if (!entry.scheduler) {
      last = Unavailable("model '" + request->model_name + "' is being reloaded; retry");
      continue;
    }
    if (Status st = ValidateRequest((*version)->config(), *request); !st.ok()) {
      return Refuse(std::move(request), std::move(st));
    }
    ResponseCallback original = request->on_complete;
    auto metrics = entry.metrics;
    const TimePoint arrival = request->arrival;
    const Clock* clock = clock_;
    metrics->in_flight->Add(1);
    request->on_complete = [original, metrics, arrival, clock](std::unique_ptr<InferResponse> r) {
      (r->status.ok() ? metrics->success : metrics->failure)->Increment();
      metrics->duration->Observe(std::chrono::duration<double>(clock->Now() - arrival).count());
      metrics->in_flight->Add(-1);
      original(std::move(r));
    };
    Status st = entry.scheduler->Enqueue(request);
    if (st.ok()) return;
    metrics->in_flight->Add(-1);
    metrics->failure->Increment();
    request->on_complete = std::move(original);
    auto callback = std::move(request->on_complete);
    return callback(MakeErrorResponse(*request, std::move(st)));
  }
  Refuse(std::move(request), std::move(last));
}

}  // namespace infergate::core

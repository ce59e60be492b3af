#include "core/statistics.h"

#include <algorithm>
#include <chrono>

namespace infergate::core {
namespace {

uint64_t Nanos(Duration d) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  return ns > 0 ? static_cast<uint64_t>(ns) : 0;
}

double Seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

DurationStat Read(Counter* count, Counter* ns) { return {count->value(), ns->value()}; }

void Add(DurationStat* stat, Duration d) {
  ++stat->count;
  stat->ns += Nanos(d);
}

}  // namespace

VersionStatistics::VersionStatistics(MetricsRegistry* registry, std::string model, int64_t version,
                                     const WallClock* wall)
    : own_registry_(registry ? nullptr : std::make_unique<MetricsRegistry>()),
      model_(std::move(model)),
      version_(version),
      wall_(wall ? wall : &SystemWallClock::Instance()) {
  MetricsRegistry& r = registry ? *registry : *own_registry_;
  const Labels labels = {{"model", model_}, {"version", std::to_string(version_)}};
  auto with = [&](const char* value) {
    Labels l = labels;
    l.emplace_back("outcome", value);
    return l;
  };
  const char* kRequests = "Inference requests completed, by model, version and outcome";
  const char* kRequestNs = "Time from admission to response, nanoseconds, by outcome";
  success_ = {&r.GetCounter("infergate_inference_requests_total", kRequests, with("success")),
              &r.GetCounter("infergate_inference_request_duration_ns_total", kRequestNs, with("success"))};
  fail_ = {&r.GetCounter("infergate_inference_requests_total", kRequests, with("failure")),
           &r.GetCounter("infergate_inference_request_duration_ns_total", kRequestNs, with("failure"))};
  // Queue and compute count requests that ran successfully: one count for all four.
  Counter* computed = &r.GetCounter("infergate_inference_computed_requests_total",
                                    "Requests that ran successfully (the count of the queue and "
                                    "compute durations)",
                                    labels);
  queue_ = {computed, &r.GetCounter("infergate_inference_queue_duration_ns_total",
                                    "Time successful requests waited in the queue, nanoseconds",
                                    labels)};
  input_ = {computed, &r.GetCounter("infergate_inference_compute_input_duration_ns_total",
                                    "Input preparation (batch assembly) of successful requests, "
                                    "nanoseconds",
                                    labels)};
  infer_ = {computed, &r.GetCounter("infergate_inference_compute_infer_duration_ns_total",
                                    "Backend run of successful requests, nanoseconds", labels)};
  output_ = {computed, &r.GetCounter("infergate_inference_compute_output_duration_ns_total",
                                     "Output split of successful requests, nanoseconds", labels)};
  inference_count_ = &r.GetCounter("infergate_inference_count_total",
                                   "Rows inferred (the batch sizes of successful requests)", labels);
  executions_ = &r.GetCounter("infergate_inference_executions_total",
                              "Successful backend runs (one per batch)", labels);
  request_duration_ = &r.GetHistogram("infergate_inference_request_duration_seconds",
                                      "Time from admission to response, seconds", labels,
                                      LatencyBuckets());
  queue_duration_ = &r.GetHistogram("infergate_inference_queue_duration_seconds",
                                    "Time from admission to the start of the request's batch, seconds",
                                    labels, LatencyBuckets());
  compute_duration_ = &r.GetHistogram("infergate_inference_compute_duration_seconds",
                                      "Time the backend took to run one batch, seconds", labels,
                                      LatencyBuckets());
  batch_size_ = &r.GetHistogram("infergate_inference_batch_size", "Rows per backend run", labels,
                                BatchSizeBuckets());
}

void VersionStatistics::RecordSuccess(Duration total) {
  success_.ns->Increment(Nanos(total));
  success_.count->Increment();
  request_duration_->Observe(Seconds(total));
  const uint64_t now = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(wall_->Now().time_since_epoch()).count());
  uint64_t last = last_inference_ms_.load(std::memory_order_relaxed);
  while (now > last && !last_inference_ms_.compare_exchange_weak(last, now)) {
  }
}

void VersionStatistics::RecordFailure(Duration total) {
  fail_.ns->Increment(Nanos(total));
  fail_.count->Increment();
  request_duration_->Observe(Seconds(total));
}

void VersionStatistics::RecordRequest(int64_t rows, Duration queue, const ComputeTimes& compute) {
  queue_.ns->Increment(Nanos(queue));
  input_.ns->Increment(Nanos(compute.input));
  infer_.ns->Increment(Nanos(compute.infer));
  output_.ns->Increment(Nanos(compute.output));
  queue_.count->Increment();  // the one count of queue and compute, last
  inference_count_->Increment(static_cast<uint64_t>(std::max<int64_t>(rows, 0)));
  queue_duration_->Observe(Seconds(queue));
}

void VersionStatistics::RecordExecution(int64_t batch_size, const ComputeTimes& compute) {
  {
    std::lock_guard lock(batch_mu_);
    BatchCounters& b = batches_[batch_size];
    Add(&b.input, compute.input);
    Add(&b.infer, compute.infer);
    Add(&b.output, compute.output);
  }
  executions_->Increment();
  compute_duration_->Observe(Seconds(compute.infer));
  batch_size_->Observe(static_cast<double>(batch_size));
}

StatisticsSnapshot VersionStatistics::Snapshot() const {
  StatisticsSnapshot s;
  s.name = model_;
  s.version = version_;
  s.last_inference_ms = last_inference_ms_.load(std::memory_order_relaxed);
  s.inference_count = inference_count_->value();
  s.execution_count = executions_->value();
  s.success = Read(success_.count, success_.ns);
  s.fail = Read(fail_.count, fail_.ns);
  // One read of the count the four share, so they agree in every snapshot.
  const uint64_t computed = queue_.count->value();
  s.queue = {computed, queue_.ns->value()};
  s.compute_input = {computed, input_.ns->value()};
  s.compute_infer = {computed, infer_.ns->value()};
  s.compute_output = {computed, output_.ns->value()};
  std::lock_guard lock(batch_mu_);
  for (const auto& [size, b] : batches_) {
    s.batch_stats.push_back({static_cast<uint64_t>(size), b.input, b.infer, b.output});
  }
  return s;
}

}  // namespace infergate::core

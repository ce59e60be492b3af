#include "backends/remote/remote_instance.h"

#include <chrono>

#include "backends/remote/remote_status.h"

namespace infergate::remote {

RemoteInstance::RemoteInstance(std::shared_ptr<RemoteClient> client, core::ModelSignature signature,
                               std::string url, std::string remote_model, std::string local_model,
                               core::MetricsRegistry* metrics)
    : client_(std::move(client)),
      signature_(std::move(signature)),
      url_(std::move(url)),
      remote_model_(std::move(remote_model)),
      local_model_(std::move(local_model)),
      metrics_(metrics) {
  if (metrics_) {
    latency_ = &metrics_->GetHistogram("infergate_remote_request_duration_seconds",
                                       "Inference calls to a remote model's server, from send to answer (or failure)",
                                       {{"model", local_model_}}, core::LatencyBuckets());
  }
}

core::Status RemoteInstance::Run(const std::vector<core::InferInput>& inputs,
                                 const std::vector<std::string>& output_names,
                                 std::vector<core::InferOutput>* outputs) {
  const auto start = std::chrono::steady_clock::now();
  core::Status status = client_->Infer(inputs, output_names, outputs);
  if (latency_) latency_->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (status.ok()) return status;
  outputs->clear();
  CountFailure(status.code());
  return NameRemote(status, url_, remote_model_);
}

void RemoteInstance::CountFailure(core::StatusCode code) {
  if (!metrics_) return;
  metrics_
      ->GetCounter("infergate_remote_failures_total",
                   "Inference calls to a remote model's server that failed, by reason (the status code)",
                   {{"model", local_model_}, {"reason", std::string(core::StatusCodeName(code))}})
      .Increment();
}

}  // namespace infergate::remote

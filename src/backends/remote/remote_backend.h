// The remote backend (backend: remote): a model served by another KServe v2
// server, over gRPC or HTTP/REST, listed and served here like a local one.
//
// Loading a version fetches the remote model's metadata (inputs, outputs,
// datatypes, shapes; its max_batch_size when the remote tells) and keeps it
// as the version's signature, so the model is listed and described while the
// remote is away. Each instance's Run is one remote call (one per batch when
// the model batches), bounded by remote.timeout_ms. A remote that cannot be
// reached when a version loads leaves that version UNAVAILABLE, and the
// repository tries again at its next poll (see docs/configuration.md).
//
// Connections are shared: one gRPC channel per remote address and TLS
// setting, one bounded pool of keep-alive HTTP connections per remote.
//
// Metrics (labelled by model): infergate_remote_request_duration_seconds
// (every remote inference call), infergate_remote_failures_total{reason}
// (the status code name: UNAVAILABLE, DEADLINE_EXCEEDED, NOT_FOUND, ...).
//
// Thread-safety: SetMetrics before any load (the engine does); LoadModel may
// be called from several threads; instances' Run too.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.h"
#include "core/model.h"

namespace infergate::remote {

class GrpcChannels;
class HttpPools;

class RemoteBackend final : public core::Backend {
 public:
  RemoteBackend();
  ~RemoteBackend() override;

  std::string_view name() const override { return "remote"; }
  std::string version() const override { return "remote (KServe v2 over gRPC and HTTP)"; }
  std::vector<std::string> platforms() const override { return {"remote"}; }
  bool uses_model_file() const override { return false; }
  void SetMetrics(core::MetricsRegistry* metrics) override { metrics_ = metrics; }

  // A remote model has no file: FAILED_PRECONDITION (LoadModel is the way in).
  core::StatusOr<std::unique_ptr<core::ModelInstance>> Load(const std::filesystem::path& file,
                                                            const core::RuntimeOptions& options) override;
  // Connects (or reuses the connection) and fetches the metadata. Every
  // failure is UNAVAILABLE (so the repository retries it), naming the remote
  // URL and model and, when the remote answered, its code and message.
  core::StatusOr<std::unique_ptr<core::ModelInstance>> LoadModel(const core::ModelConfig& config,
                                                                 const std::filesystem::path& file) override;

 private:
  core::MetricsRegistry* metrics_ = nullptr;
  std::unique_ptr<GrpcChannels> channels_;
  std::unique_ptr<HttpPools> pools_;
};

}  // namespace infergate::remote

// RemoteInstance: one instance of a remote model version. Run forwards the
// batch to the remote (RemoteClient::Infer), times the call and counts its
// failures, and names the remote URL and model in every error.
//
// Thread-safety: Run may be called from several threads at once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backends/remote/remote_client.h"
#include "core/metrics.h"
#include "core/model.h"

namespace infergate::remote {

class RemoteInstance final : public core::ModelInstance {
 public:
  // `metrics` may be null (nothing is counted); it outlives the instance.
  RemoteInstance(std::shared_ptr<RemoteClient> client, core::ModelSignature signature, std::string url,
                 std::string remote_model, std::string local_model, core::MetricsRegistry* metrics);

  const core::ModelSignature& signature() const override { return signature_; }
  core::Status Run(const std::vector<core::InferInput>& inputs, const std::vector<std::string>& output_names,
                   std::vector<core::InferOutput>* outputs) override;

 private:
  void CountFailure(core::StatusCode code);

  std::shared_ptr<RemoteClient> client_;
  core::ModelSignature signature_;
  std::string url_;
  std::string remote_model_;
  std::string local_model_;
  core::MetricsRegistry* metrics_;
  core::Histogram* latency_ = nullptr;
};

}  // namespace infergate::remote

// RemoteClient: one remote KServe v2 model, reached over gRPC or HTTP/REST.
// The remote backend's instances call it; it knows nothing of the
// repository or the scheduler.
//
// Errors are the remote's own (its code and message) or, when the remote
// cannot be reached, UNAVAILABLE; a call that outlives the target's timeout
// is DEADLINE_EXCEEDED. The caller names the remote in front of the message.
//
// Thread-safety: every method may be called from several threads at once.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/infer.h"
#include "core/model.h"
#include "core/remote_url.h"
#include "backends/remote/token_file.h"
#include "core/status.h"

namespace infergate::remote {

// Where the model is and how to reach it.
struct RemoteTarget {
  std::string url_text;  // as configured, for messages
  core::RemoteUrl url;
  std::string model;
  std::string version;  // "" lets the remote choose
  std::chrono::milliseconds timeout{1000};
  std::shared_ptr<TokenFile> token;  // sent as "Authorization: Bearer <token>"; null for none
  std::string ca_pem;   // the CA to verify a TLS remote with; "" for the system's
};

class RemoteClient {
 public:
  virtual ~RemoteClient() = default;

  // The model's inputs and outputs (ModelMetadata), and its max_batch_size
  // when the remote also answers the model configuration request (Triton's
  // extension; any error there is ignored: -1).
  virtual core::StatusOr<core::ModelSignature> Metadata() = 0;

  // One inference: `inputs` as given, `output_names` empty for all. On
  // success `outputs` holds the remote's outputs in its order.
  virtual core::Status Infer(const std::vector<core::InferInput>& inputs,
                             const std::vector<std::string>& output_names,
                             std::vector<core::InferOutput>* outputs) = 0;
};

}  // namespace infergate::remote

// The gRPC RemoteClient (inference.GRPCInferenceService: ModelMetadata,
// ModelConfig, ModelInfer), on channels shared through a GrpcChannels cache:
// every model and version that names the same remote with the same TLS
// settings uses one channel (one HTTP/2 connection, calls multiplexed).
//
// Thread-safety: GrpcChannels and the clients may be used from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "backends/remote/remote_client.h"

namespace grpc {
class Channel;
}

namespace infergate::remote {

class GrpcChannels {
 public:
  // The channel to `target`'s server, made on first use and shared while
  // any client holds it. Reconnects after a failure within about a second
  // (not gRPC's default back-off of up to two minutes), so a remote that
  // comes back is used again at once.
  std::shared_ptr<grpc::Channel> Get(const RemoteTarget& target);

 private:
  std::mutex mu_;
  std::map<std::string, std::weak_ptr<grpc::Channel>> channels_;  // GUARDED_BY(mu_)
};

std::unique_ptr<RemoteClient> MakeGrpcClient(RemoteTarget target, std::shared_ptr<grpc::Channel> channel);

}  // namespace infergate::remote

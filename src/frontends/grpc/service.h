// The callback-API implementation of inference.GRPCInferenceService.
//
// Unary handlers finish on the calling gRPC thread except ModelInfer (finished
// from the request's on_complete, on a scheduler thread) and the repository
// load/unload calls (finished from the admin thread).
//
// Thread-safety: gRPC calls the handlers from its callback threads; Stop()
// is called once, from the frontend's owner, after the gRPC server shut down.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "frontends/grpc/context.h"
#include "grpc_service.grpc.pb.h"

namespace infergate::grpc_frontend {

// One thread that runs repository loads and unloads in arrival order. Bounded:
// Post() refuses when kMaxQueued jobs wait.
class AdminWorker {
 public:
  static constexpr size_t kMaxQueued = 16;
  AdminWorker();
  ~AdminWorker();  // runs what is queued, then joins
  // False when the queue is full or the worker stopped.
  bool Post(std::function<void()> job);

 private:
  void Run();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                   // GUARDED_BY(mu_)
  std::thread thread_;
};

class Service final : public inference::GRPCInferenceService::CallbackService {
 public:
  explicit Service(FrontendContext* context) : ctx_(context) {}

  ::grpc::ServerUnaryReactor* ServerLive(::grpc::CallbackServerContext* c, const inference::ServerLiveRequest* req,
                                         inference::ServerLiveResponse* resp) override;
  ::grpc::ServerUnaryReactor* ServerReady(::grpc::CallbackServerContext* c, const inference::ServerReadyRequest* req,
                                          inference::ServerReadyResponse* resp) override;
  ::grpc::ServerUnaryReactor* ModelReady(::grpc::CallbackServerContext* c, const inference::ModelReadyRequest* req,
                                         inference::ModelReadyResponse* resp) override;
  ::grpc::ServerUnaryReactor* ServerMetadata(::grpc::CallbackServerContext* c,
                                             const inference::ServerMetadataRequest* req,
                                             inference::ServerMetadataResponse* resp) override;
  ::grpc::ServerUnaryReactor* ModelMetadata(::grpc::CallbackServerContext* c,
                                            const inference::ModelMetadataRequest* req,
                                            inference::ModelMetadataResponse* resp) override;
  ::grpc::ServerUnaryReactor* ModelInfer(::grpc::CallbackServerContext* c, const inference::ModelInferRequest* req,
                                         inference::ModelInferResponse* resp) override;
  ::grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelStreamInferResponse>* ModelStreamInfer(
      ::grpc::CallbackServerContext* c) override;
  ::grpc::ServerUnaryReactor* ModelConfig(::grpc::CallbackServerContext* c, const inference::ModelConfigRequest* req,
                                          inference::ModelConfigResponse* resp) override;
  ::grpc::ServerUnaryReactor* ModelStatistics(::grpc::CallbackServerContext* c,
                                              const inference::ModelStatisticsRequest* req,
                                              inference::ModelStatisticsResponse* resp) override;
  ::grpc::ServerUnaryReactor* RepositoryIndex(::grpc::CallbackServerContext* c,
                                              const inference::RepositoryIndexRequest* req,
                                              inference::RepositoryIndexResponse* resp) override;
  ::grpc::ServerUnaryReactor* RepositoryModelLoad(::grpc::CallbackServerContext* c,
                                                  const inference::RepositoryModelLoadRequest* req,
                                                  inference::RepositoryModelLoadResponse* resp) override;
  ::grpc::ServerUnaryReactor* RepositoryModelUnload(::grpc::CallbackServerContext* c,
                                                    const inference::RepositoryModelUnloadRequest* req,
                                                    inference::RepositoryModelUnloadResponse* resp) override;

 private:
  // Runs `job` (returning a Status) on the admin thread and finishes the call with it.
  ::grpc::ServerUnaryReactor* RunAdmin(::grpc::CallbackServerContext* c, std::function<core::Status()> job);

  FrontendContext* ctx_;
  AdminWorker admin_;
};

}  // namespace infergate::grpc_frontend

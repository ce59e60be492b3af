// GrpcFrontend: the KServe v2 / Open Inference Protocol over gRPC
// (service inference.GRPCInferenceService), with Triton's extensions
// (ModelStreamInfer, ModelConfig, ModelStatistics, RepositoryIndex,
// RepositoryModelLoad/Unload). See proto/grpc_service.proto.
//
// No gRPC or protobuf type appears in this header: the server links the
// frontend without seeing either.
//
// Threads: gRPC's callback API. Handlers run on gRPC's own small callback
// thread pool, never one thread per call; they decode, hand the request to
// core::InferenceService::Submit and return. The reply is sent from the
// request's on_complete callback (on a scheduler thread). Repository loads and
// unloads, which take as long as a model load, run on one admin thread owned
// here so they never hold a callback thread.
//
// Errors: core::Status codes become gRPC status codes through
// core/status_map.h (INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE,
// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ...), with the status message naming
// what was wrong. A call's gRPC deadline becomes the request's deadline.
//
// Metrics:
//   infergate_grpc_infer_requests_total{method}       inference requests received
//   infergate_grpc_requests_rejected_total{reason}    inference requests answered with an error,
//                                                     reason = the status code in lower case
//   infergate_grpc_inferences_in_flight               admitted, not yet answered
//   infergate_grpc_streams_open                       ModelStreamInfer calls open
//
// Thread-safety: Start and Stop from one thread (the server's main thread);
// port() from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/dispatcher.h"
#include "core/metrics.h"
#include "core/model_repository.h"
#include "core/status.h"

namespace infergate::grpc_frontend {

struct GrpcFrontendOptions {
  std::string address = "0.0.0.0";
  int port = 8001;  // 0: any free port (the chosen one is logged and returned by port())
  // Threads running the connections (each connection stays on one).
  int io_threads = 1;
  // Largest message received or sent, bytes; a larger request is refused
  // with RESOURCE_EXHAUSTED.
  int64_t max_message_bytes = 64 * 1024 * 1024;
  // Largest element count of one input tensor; more is RESOURCE_EXHAUSTED.
  int64_t max_tensor_elements = 16 * 1024 * 1024;
  // Requests one ModelStreamInfer call may have in flight; the stream is not
  // read further until one completes (back-pressure instead of a queue).
  int max_stream_in_flight = 64;
  // How long Stop() lets calls in flight finish before cancelling them.
  double drain_secs = 5.0;
  std::string server_name = "infergate";
  std::string server_version;
};

// What the frontend uses; not owned, all outlive the frontend.
struct GrpcFrontendDeps {
  core::ModelRepository* repository = nullptr;
  core::InferenceService* inference = nullptr;
  core::MetricsRegistry* metrics = nullptr;
  const core::Clock* clock = &core::SteadyClock::Instance();
};

class GrpcFrontend {
 public:
  // Binds and starts serving; logs "grpc: listening on ADDR:PORT".
  // UNAVAILABLE when the address cannot be bound.
  static core::StatusOr<std::unique_ptr<GrpcFrontend>> Start(GrpcFrontendOptions options,
                                                             GrpcFrontendDeps deps);
  ~GrpcFrontend();  // Stop()
  GrpcFrontend(const GrpcFrontend&) = delete;
  GrpcFrontend& operator=(const GrpcFrontend&) = delete;

  // The port actually bound.
  int port() const;

  // Graceful drain: ServerReady turns false and new inference calls and
  // streams get UNAVAILABLE; calls in flight (and open streams) get up to
  // drain_secs to finish. Then the server shuts down: what is still open is
  // cancelled (its requests still complete in the scheduler, their replies
  // are dropped). Returns when every call is done. Idempotent.
  void Stop();

  struct Impl;

 private:
  explicit GrpcFrontend(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace infergate::grpc_frontend

// GrpcFrontend: the KServe v2 / Open Inference Protocol over gRPC
// (service inference.GRPCInferenceService), with Triton's extensions
// (ModelStreamInfer, ModelConfig, ModelStatistics, RepositoryIndex,
// RepositoryModelLoad/Unload, SystemSharedMemory* when deps.shared_memory is
// set). See proto/grpc_service.proto.
//
// The gRPC protocol over HTTP/2 is served on nghttp2 and Asio (see
// h2_connection.h for why not gRPC's own C++ server); clients cannot tell:
// the tests use gRPC's C++ client. No nghttp2, Asio or protobuf type appears
// in this header.
//
// Threads: `io_threads` IO threads, each running one Asio io_context; a
// connection stays on one. They read, parse HTTP/2 and the messages, decode,
// hand requests to core::InferenceService::Submit and write replies; they
// never wait for inference. A ModelInfer reply is encoded in the request's
// on_complete (a scheduler thread) and posted to its connection's thread.
// Repository loads and unloads, which take as long as a model load, run on
// one admin thread owned here so they never hold an IO thread. The system
// shared memory calls run on the IO thread (a few non-blocking syscalls).
//
// Errors: core::Status codes become gRPC status codes through
// core/status_map.h (INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE,
// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ...), with the status message naming
// what was wrong. A call's gRPC deadline becomes the request's deadline.
//
// Metrics:
//   infergate_grpc_infer_requests_total{method}       inference requests received
//   infergate_grpc_requests_rejected_total{reason}    calls answered with an error (inference
//                                                     requests, and calls refused before any
//                                                     method saw them: unknown method, not gRPC,
//                                                     message too large, compressed or cut short),
//                                                     reason = the status code in lower case,
//                                                     or shared_memory for a refused
//                                                     SystemSharedMemory* call
//   infergate_grpc_protocol_errors_total              connections closed for breaking HTTP/2
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
#include "core/shared_memory.h"
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
  // Client-registered system shared memory; null: the extension is off (the
  // SystemSharedMemory* calls answer FAILED_PRECONDITION and requests naming
  // a region are refused).
  core::SharedMemoryRegistry* shared_memory = nullptr;
  // Per model version statistics (the dispatcher); null: ModelStatistics
  // answers UNIMPLEMENTED.
  const core::StatisticsSource* statistics = nullptr;
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

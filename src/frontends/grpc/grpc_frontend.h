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
// the engine's ModelControl worker so they never hold an IO thread. The system
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
//   infergate_grpc_connections_closed_total{reason}   connections the server closed itself:
//                                                     idle, write_timeout, stalled
//   infergate_grpc_buffered_bytes                     request bytes held by all connections
//
// Connections: at most max_connections open at once (more are closed on
// accept and counted, see net/connection_registry.h); one with no call open
// and no traffic for idle_timeout_secs is closed with a GOAWAY.
//
// Shutdown (engine::Frontend): Drain turns ServerReady false, stops
// accepting, sends every connection a GOAWAY (calls already started go on;
// a connection closes once its calls are done), answers new calls on open
// connections UNAVAILABLE, and returns when no inference call or stream is
// left or at the deadline. Stop closes every connection (what is still open
// is cancelled) and joins the IO threads.
//
// Thread-safety: Create, Start, Drain and Stop from one thread (the
// server's main thread); port() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "auth/policy.h"
#include "core/clock.h"
#include "core/dispatcher.h"
#include "core/metrics.h"
#include "core/model_repository.h"
#include "core/shared_memory.h"
#include "core/status.h"
#include "engine/frontend.h"
#include "engine/model_control.h"

namespace infergate::net {
class TlsContext;
}

namespace infergate::grpc_frontend {

struct GrpcFrontendOptions {
  std::string address = "127.0.0.1";
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
  // Connections open at once; more are closed on accept. 0: no cap.
  size_t max_connections = 1024;
  // A connection with no call open and no traffic this long is closed
  // (GOAWAY). 0: never.
  double idle_timeout_secs = 300;
  // Bounds on what one client can make the server hold (h2_connection.h):
  // request bytes per connection (flow-control credit included; at least
  // max_message_bytes) and for all connections (0: no total bound; when
  // reached new calls are refused RESOURCE_EXHAUSTED), reply bytes waiting
  // per connection, and the write and stall timeouts (0: none).
  int64_t max_connection_buffer_bytes = 128 << 20;
  int64_t max_buffered_bytes = int64_t{1} << 30;
  int64_t max_connection_unsent_bytes = 16 << 20;
  double write_timeout_secs = 30;
  double stall_timeout_secs = 30;
  std::string server_name = "infergate";
  std::string server_version;
  std::chrono::milliseconds tls_handshake_timeout{10000};  // with GrpcFrontendDeps::tls
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
  // The repository API (RepositoryModelLoad/Unload); null: refused.
  engine::ModelControl* model_control = nullptr;
  // What ServerReady reports besides the drain (the engine's readiness);
  // null: ready until the drain.
  const std::atomic<bool>* ready = nullptr;
  // Per model version statistics (the dispatcher); null: ModelStatistics
  // answers UNIMPLEMENTED.
  const core::StatisticsSource* statistics = nullptr;
  // Set: TLS only, ALPN h2 (net/tls_handshake.h), with this context's
  // newest certificate for each new connection.
  net::TlsContext* tls = nullptr;
  // Who may call what (asked once per call, before its method runs); null:
  // authentication off.
  const auth::Policy* policy = nullptr;
};

class GrpcFrontend final : public engine::Frontend {
 public:
  static core::StatusOr<std::unique_ptr<GrpcFrontend>> Create(GrpcFrontendOptions options,
                                                              GrpcFrontendDeps deps);
  // Stop(), then waits until the calls still in the engine have completed
  // (their callbacks reach the frontend).
  ~GrpcFrontend() override;
  GrpcFrontend(const GrpcFrontend&) = delete;
  GrpcFrontend& operator=(const GrpcFrontend&) = delete;

  std::string_view name() const override { return "grpc"; }
  // Binds and starts serving; logs "grpc: listening on ADDR:PORT".
  // UNAVAILABLE naming the address when it cannot be bound.
  core::Status Start() override;
  // See above. Idempotent.
  bool Drain(core::TimePoint deadline) override;
  // Idempotent.
  void Stop() override;

  // The port actually bound (after Start).
  int port() const;

  struct Impl;

 private:
  explicit GrpcFrontend(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace infergate::grpc_frontend

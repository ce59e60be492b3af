// HttpServer: the KServe v2 REST frontend on Boost.Beast (HTTP/1.1,
// keep-alive).
//
// Threads: `io_threads` IO threads (net::IoThreads); the listener
// (net::Listener) hands each new connection to the next one in turn, so a
// connection stays on one thread. IO threads parse
// HTTP and JSON, call the routes and write responses; they never wait for
// inference (the completion callback posts the reply back to the
// connection's thread) or for a model load (engine::ModelControl's worker does it).
//
// Limits: at most max_connections are open at once (more are closed on
// accept and counted, see net/connection_registry.h). Per connection: a request must arrive completely within
// request_timeout_secs of its first byte; a keep-alive connection idle for
// idle_timeout_secs is closed; header and body sizes are capped. Each refusal
// is answered (400, 408, 413, 431) when the connection still allows it and
// counted in infergate_http_requests_rejected_total.
//
// Shutdown (engine::Frontend): Drain stops accepting, closes idle
// keep-alive connections, answers requests that arrive meanwhile 503 with
// `Connection: close`, writes the reply of every request in flight (then
// closes its connection) and returns when none is left or at the deadline.
// Stop closes what is left and joins the IO threads.
//
// Thread-safety: Create, Start, Drain and Stop are called from one thread
// (the server's main thread). After Stop the object must outlive every
// inference still in flight (their replies are posted to it), so destroy it
// after the dispatcher has drained.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "auth/policy.h"
#include "core/dispatcher.h"
#include "core/metrics.h"
#include "core/model_repository.h"
#include "core/shared_memory.h"
#include "core/statistics.h"
#include "core/status.h"
#include "engine/frontend.h"
#include "engine/model_control.h"
#include "frontends/http/http_types.h"

namespace infergate::pipeline {
class DeviceService;
}
namespace infergate::net {
class TlsContext;
}

namespace infergate::http {

struct HttpOptions {
  std::string address = "127.0.0.1";
  int port = 8000;                 // 0: any free port (see port())
  int io_threads = 1;              // >= 1
  size_t max_body_bytes = 64u << 20;
  size_t max_header_bytes = 16u << 10;
  int64_t max_elements_per_tensor = 16 * 1024 * 1024;
  double idle_timeout_secs = 60;
  double request_timeout_secs = 30;
  size_t max_connections = 1024;    // open at once; 0: no cap
  std::string server_version;       // reported by GET /v2
  std::chrono::milliseconds tls_handshake_timeout{10000};  // with HttpDeps::tls
  // An /infer body whose JSON part is larger than this is decoded on the
  // decode worker (one thread) rather than the IO thread, so it does not
  // stall the thread's other connections; 0: always on the IO thread.
  size_t decode_offload_bytes = 1u << 20;
  // Bodies waiting for the decode worker; one more is refused with 503.
  size_t max_queued_decodes = 8;
};

// What the routes use; nothing owned, everything outlives the server.
struct HttpDeps {
  core::InferenceService* inference = nullptr;  // required
  core::ModelRepository* repository = nullptr;  // required
  core::MetricsRegistry* metrics = nullptr;     // required
  // Per model version statistics (the engine's); null: the stats routes
  // answer 501.
  const core::StatisticsSource* statistics = nullptr;
  // Null: POST .../devices/{d}/telemetry is an unknown endpoint.
  pipeline::DeviceService* devices = nullptr;
  // Null: the system shared memory extension is off (registering is refused
  // and requests naming a region are rejected).
  core::SharedMemoryRegistry* shared_memory = nullptr;
  // The repository API (load / unload) with its policy; null: refused.
  engine::ModelControl* model_control = nullptr;
  // What /v2/health/ready reports (the engine's readiness). Null: the
  // server's own flag, set by SetReady.
  const std::atomic<bool>* ready = nullptr;
  // Set: HTTPS only (net/tls_handshake.h), with this context's newest
  // certificate for each new connection.
  net::TlsContext* tls = nullptr;
  // Who may do what (asked once per request); null: authentication off.
  const auth::Policy* policy = nullptr;
  // The repository as a fleet origin; empty: its endpoints answer 404.
  RepositoryOrigin origin;
};

class HttpServer final : public engine::Frontend {
 public:
  static core::StatusOr<std::unique_ptr<HttpServer>> Create(HttpOptions options, HttpDeps deps);
  ~HttpServer() override;  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::string_view name() const override { return "http"; }
  // Binds and listens (UNAVAILABLE naming the address when it cannot), then
  // starts the IO threads.
  core::Status Start() override;
  // See above. Idempotent.
  bool Drain(core::TimePoint deadline) override;
  // Stops accepting, closes every connection and joins the IO threads.
  // Idempotent.
  void Stop() override;
  // The server's own readiness flag (when deps.ready is null): whether
  // /v2/health/ready answers 200. Drain and Stop clear it.
  void SetReady(bool ready);

  // The bound address and port (after Start), e.g. for port 0.
  const std::string& address() const;
  int port() const;

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace infergate::http

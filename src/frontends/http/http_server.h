// HttpServer: the KServe v2 REST frontend on Boost.Beast (HTTP/1.1,
// keep-alive).
//
// Threads: `io_threads` IO threads, each running its own io_context; the
// listening socket lives on the first and hands each new connection to the
// next context in turn, so a connection stays on one thread. IO threads parse
// HTTP and JSON, call the routes and write responses; they never wait for
// inference (the completion callback posts the reply back to the
// connection's thread) or for a model load (a BlockingWorker thread does it).
//
// Limits (per connection): a request must arrive completely within
// request_timeout_secs of its first byte; a keep-alive connection idle for
// idle_timeout_secs is closed; header and body sizes are capped. Each refusal
// is answered (400, 408, 413, 431) when the connection still allows it and
// counted in infergate_http_requests_rejected_total.
//
// Thread-safety: Create, Start and Stop are called from one thread (the
// server's main thread). Stop stops the IO threads; the object must then
// outlive every inference still in flight (their replies are posted to it),
// so destroy it after the dispatcher has drained.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/dispatcher.h"
#include "core/metrics.h"
#include "core/model_repository.h"
#include "core/shared_memory.h"
#include "core/status.h"

namespace infergate::pipeline {
class DeviceContracts;
}

namespace infergate::http {

struct HttpOptions {
  std::string address = "0.0.0.0";
  int port = 8000;                 // 0: any free port (see port())
  int io_threads = 1;              // >= 1
  size_t max_body_bytes = 64u << 20;
  size_t max_header_bytes = 16u << 10;
  int64_t max_elements_per_tensor = 16 * 1024 * 1024;
  double idle_timeout_secs = 60;
  double request_timeout_secs = 30;
  bool allow_model_control = true;  // repository load/unload
  std::string server_version;       // reported by GET /v2
};

class HttpServer {
 public:
  // Nothing is owned; all outlive the server. `contracts` may be null (then
  // POST .../devices/{d}/telemetry is an unknown endpoint); so may
  // `shared_memory` (then the system shared memory extension is off:
  // registering is refused and requests naming a region are rejected).
  static core::StatusOr<std::unique_ptr<HttpServer>> Create(
      HttpOptions options, core::InferenceService* inference, core::ModelRepository* repository,
      core::MetricsRegistry* metrics, pipeline::DeviceContracts* contracts = nullptr,
      core::SharedMemoryRegistry* shared_memory = nullptr,
      const core::StatisticsSource* statistics = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens (UNAVAILABLE naming the address when it cannot), then
  // starts the IO threads.
  core::Status Start();
  // Stops accepting and stops the IO threads; open connections are closed.
  // Idempotent.
  void Stop();
  // Whether /v2/health/ready answers 200 (false while starting and stopping).
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

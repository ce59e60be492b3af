// Server: builds every component from the ServerConfig and owns them.
// Nothing in the process is global; everything is created here and passed down.
//
// Thread-safety: Create, Start and Stop are called from the main thread.
// The repository poll thread is owned here.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <memory>
#include <mutex>
#include <thread>

#include "config/server_config.h"
#include "core/dispatcher.h"
#include "core/metrics.h"
#include "core/model.h"
#include "core/model_repository.h"
#include "core/shared_memory.h"
#include "core/status.h"
#include "pipeline/contracts.h"
#include "pipeline/device_service.h"

namespace infergate::mqtt {
class MqttFrontend;
}

namespace infergate::grpc_frontend {
class GrpcFrontend;
}

namespace infergate::http {
class HttpServer;
}

namespace infergate::server {

class Server {
 public:
  static core::StatusOr<std::unique_ptr<Server>> Create(config::ServerConfig config);
  ~Server();

  // Loads the repository, starts polling (in poll mode) and the frontends.
  core::Status Start();
  // Graceful drain: the frontends stop taking requests and answer the ones
  // in flight, then polling stops. Idempotent.
  void Stop();

  // The port the gRPC frontend bound; 0 when it is not running.
  int grpc_port() const;

  core::ModelRepository& repository() { return *repository_; }
  core::InferenceService& inference() { return *dispatcher_; }
  core::MetricsRegistry& metrics() { return metrics_; }
  // Device contracts of the loaded models (telemetry -> requests -> results).
  pipeline::DeviceContracts& contracts() { return *contracts_; }
  const config::ServerConfig& config() const { return config_; }

 private:
  Server(config::ServerConfig config, std::unique_ptr<core::Backend> backend,
         std::unique_ptr<core::ModelRepository> repository);
  core::Status StartHttp();
  void PollLoop();
  // Logs what changed in the repository since the last call (every version at
  // the first call). Called from the thread that polls.
  void LogRepositoryState();

  // Declaration order is destruction order in reverse: the dispatcher drains
  // its schedulers before the repository and the backend go away.
  config::ServerConfig config_;
  core::MetricsRegistry metrics_;
  // Client-registered shared memory regions (null: the extension is off).
  // Requests in flight hold their own references to the mappings.
  std::unique_ptr<core::SharedMemoryRegistry> shared_memory_;
  // Destroyed after the dispatcher: replies of the requests it drains are
  // posted to the HTTP server's (stopped) IO contexts.
  std::unique_ptr<http::HttpServer> http_;
  std::unique_ptr<core::Backend> backend_;
  std::unique_ptr<core::ModelRepository> repository_;
  std::unique_ptr<core::Dispatcher> dispatcher_;
  std::unique_ptr<pipeline::DeviceContracts> contracts_;
  pipeline::DeviceService devices_{contracts_.get(), dispatcher_.get()};
  // Frontends: declared after the dispatcher and contracts they use, so they
  // stop (and drain) first.
  std::unique_ptr<mqtt::MqttFrontend> mqtt_;  // null while mqtt.broker is empty
  std::unique_ptr<grpc_frontend::GrpcFrontend> grpc_;  // null while grpc.enabled is false

  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread poll_thread_;
  // What LogRepositoryState last reported; only touched by the polling thread
  // (the main thread before the poll thread starts).
  std::map<std::pair<std::string, int64_t>, core::VersionStatus> logged_;
  std::map<std::string, std::string> logged_model_reasons_;
};

// Runs `infergate serve`: the server until SIGINT or SIGTERM. Returns the exit code.
int RunServe(config::ServerConfig config);

}  // namespace infergate::server

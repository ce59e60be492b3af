// Engine: everything infergate does that is not a wire format. It owns the
// model repository and its backends, the dispatcher (and through it the
// per-version schedulers), the device contracts, the metrics registry, the
// client-registered shared memory regions, the repository API (ModelControl)
// and the server's readiness. It opens no socket: frontends (frontend.h)
// decode their transport into calls on the services below and encode what
// comes back, and src/server wires them together.
//
//   frontends/{http,grpc,mqtt}  --decode-->  Engine services  --callback-->  encode
//
// Lifetime: Create, then Start (loads the repository, starts polling), then
// frontends start and SetReady(true). At shutdown: SetReady(false), the
// frontends drain and stop, then Stop (stops polling and the repository
// worker, drains every scheduler: requests still queued are answered), then
// the frontends and the engine are destroyed.
//
// Thread-safety: Create, Start and Stop from the server's main thread; the
// accessors and SetReady from any thread. The services say their own rules.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/dispatcher.h"
#include "core/metrics.h"
#include "core/model.h"
#include "core/model_repository.h"
#include "core/shared_memory.h"
#include "core/status.h"
#include "engine/escalation.h"
#include "engine/model_control.h"
#include "pipeline/contracts.h"
#include "pipeline/device_service.h"

namespace infergate::engine {

struct EngineOptions {
  std::filesystem::path model_repository;
  // Re-scan the repository this often (model_control_mode: poll); 0: never
  // (the repository is scanned once by Start, then changed only through
  // ModelControl).
  double poll_secs = 0;
  ModelControlPolicy model_control;
  // Triton's system shared memory extension: off unless enabled.
  bool shared_memory = false;
  int max_shared_memory_regions = 64;
  std::string shared_memory_key_prefix;  // keys must start with it; empty: any
  // The backends models may run on (ownership passes to the engine); a model
  // picks one by its config's backend or platform, else by its file's
  // extension. At least one.
  std::vector<std::unique_ptr<core::Backend>> backends;
  // Parses a model folder's config.yaml (src/config); required.
  core::ConfigParser parse_config;
  const core::Clock* clock = &core::SteadyClock::Instance();
};

class Engine {
 public:
  // Builds every service; loads nothing yet. Errors name the setting.
  static core::StatusOr<std::unique_ptr<Engine>> Create(EngineOptions options);
  ~Engine();  // Stop()
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Scans and loads the repository once (logging each version's state), then
  // starts the poll thread in poll mode.
  core::Status Start();
  // Stops polling and the repository worker, then drains every scheduler:
  // what is queued still runs and is answered. Later submissions are refused
  // with UNAVAILABLE. Idempotent.
  void Stop();

  // Inference: validated, queued and batched per model version.
  // Models with `escalate:` go through the escalation service (escalation.h).
  core::InferenceService& inference() { return *escalation_; }
  core::ModelRepository& repository() { return *repository_; }
  // Per model version statistics (Triton's statistics extension and the
  // /metrics figures are one source).
  const core::StatisticsSource& statistics() const { return *dispatcher_; }
  // Device telemetry through the loaded models' device contracts
  // (telemetry -> windows -> requests -> results), for every frontend.
  pipeline::DeviceService& devices() { return *devices_; }
  // The repository API (load / unload), with its policy.
  ModelControl& model_control() { return *model_control_; }
  core::MetricsRegistry& metrics() { return metrics_; }
  // Null while the shared memory extension is off.
  core::SharedMemoryRegistry* shared_memory() { return shared_memory_.get(); }
  const core::Clock& clock() const { return *clock_; }
  // Runtime names and versions of the backends, e.g. "onnxruntime 1.30.0".
  std::string backend_versions() const;
  // Whether the version in `version_dir` of `model`, with `config_file` as
  // its config.yaml (may not exist), would become READY: loaded (one
  // instance) by the backend the repository would choose, its config
  // completed and its device contract checked, then discarded. Fleet model
  // sync asks before a downloaded version moves into the repository. Any
  // thread (check_loads.cc).
  core::Status CheckLoads(const std::string& model, const std::filesystem::path& config_file,
                          const std::filesystem::path& version_dir) const;

  // Whether the server takes inference requests: what every frontend's
  // readiness check reports (HTTP /v2/health/ready, gRPC ServerReady, the
  // MQTT status topic). False until the server says it is ready, and again
  // from the start of the shutdown.
  void SetReady(bool ready) { ready_.store(ready); }
  bool ready() const { return ready_.load(); }
  const std::atomic<bool>* ready_flag() const { return &ready_; }

 private:
  explicit Engine(EngineOptions options);
  void PollLoop();
  // Logs what changed in the repository since the last call (every version
  // at the first call). Called from the thread that polls.
  void LogRepositoryState();

  // Declaration order is destruction order in reverse: the dispatcher drains
  // its schedulers before the repository and the backends go away.
  EngineOptions options_;
  const core::Clock* clock_;
  core::MetricsRegistry metrics_;
  std::atomic<bool> ready_{false};
  // Requests in flight hold their own references to the mappings.
  std::unique_ptr<core::SharedMemoryRegistry> shared_memory_;
  std::vector<std::unique_ptr<core::Backend>> backends_;
  std::unique_ptr<core::ModelRepository> repository_;
  std::unique_ptr<core::Dispatcher> dispatcher_;
  std::unique_ptr<EscalatingService> escalation_;  // wraps dispatcher_
  std::unique_ptr<pipeline::DeviceContracts> contracts_;
  std::unique_ptr<pipeline::DeviceService> devices_;
  std::unique_ptr<ModelControl> model_control_;

  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread poll_thread_;
  // What LogRepositoryState last reported; only touched by the polling thread
  // (the main thread before the poll thread starts).
  std::map<std::pair<std::string, int64_t>, core::VersionStatus> logged_;
  std::map<std::string, std::string> logged_model_reasons_;
  std::string logged_scan_error_;
  // The repository's absolute path, for the log (replies name paths
  // relative to it).
  std::string repository_path_;
};

}  // namespace infergate::engine

#include "server/server.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "backends/onnxruntime/ort_backend.h"
#include "config/model_config_yaml.h"
#include "frontends/mqtt/mqtt_frontend.h"
#include "pipeline/plan.h"
#include "frontends/grpc/grpc_frontend.h"
#include "frontends/http/http_server.h"
#include "server/process_metrics.h"

namespace infergate::server {

core::StatusOr<std::unique_ptr<Server>> Server::Create(config::ServerConfig config) {
  RETURN_IF_ERROR(config::ValidateServerConfig(config));
  ort::OrtBackendOptions ort_options;
  ort_options.intra_op_threads = config.onnxruntime.intra_op_threads;
  ort_options.inter_op_threads = config.onnxruntime.inter_op_threads;
  ort_options.allow_spinning = config.onnxruntime.allow_spinning;
  ASSIGN_OR_RETURN(auto backend, ort::OrtBackend::Create(ort_options));
  core::ModelRepository::Options repo_options;
  repo_options.root = config.model_repository;
  RETURN_IF_ERROR(repo_options.backends.Add(backend.get()));
  repo_options.parse_config = &config::ParseModelConfigFile;
  repo_options.check_config = &pipeline::CheckContract;  // a device: section must fit its model
  ASSIGN_OR_RETURN(auto repository, core::ModelRepository::Create(std::move(repo_options)));
  std::unique_ptr<Server> server(new Server(std::move(config), std::move(backend), std::move(repository)));
  if (!server->config_.mqtt.broker.empty()) {
    ASSIGN_OR_RETURN(server->mqtt_,
                     mqtt::MqttFrontend::Create(server->config_.mqtt, server->dispatcher_.get(),
                                                server->contracts_.get(), &server->metrics_,
                                                &core::SteadyClock::Instance()));
  }
  return server;
}

Server::Server(config::ServerConfig config, std::unique_ptr<core::Backend> backend,
               std::unique_ptr<core::ModelRepository> repository)
    : config_(std::move(config)),
      backend_(std::move(backend)),
      repository_(std::move(repository)),
      dispatcher_(std::make_unique<core::Dispatcher>(repository_.get(), &metrics_)),
      contracts_(std::make_unique<pipeline::DeviceContracts>(
          repository_.get(), pipeline::ContractRunner::Options{&core::SteadyClock::Instance(), &metrics_})) {
  RegisterProcessMetrics(&metrics_, repository_.get());
  if (config_.shared_memory.enabled) {
    shared_memory_ = std::make_unique<core::SharedMemoryRegistry>(
        static_cast<size_t>(config_.shared_memory.max_regions), &metrics_);
  }
}

Server::~Server() { Stop(); }

int Server::grpc_port() const { return grpc_ ? grpc_->port() : 0; }

namespace {

core::StatusOr<std::unique_ptr<grpc_frontend::GrpcFrontend>> StartGrpc(const config::GrpcConfig& c,
                                                                      grpc_frontend::GrpcFrontendDeps deps) {
  grpc_frontend::GrpcFrontendOptions o;
  o.address = c.address;
  o.port = c.port;
  o.io_threads = c.io_threads;
  o.max_message_bytes = c.max_message_bytes;
  o.max_tensor_elements = c.max_tensor_elements;
  o.max_stream_in_flight = c.max_stream_in_flight;
  o.drain_secs = c.drain_secs;
  o.server_version = INFERGATE_VERSION;
  return grpc_frontend::GrpcFrontend::Start(std::move(o), deps);
}

}  // namespace

core::Status Server::Start() {
  spdlog::info("infergate starting; runtime {}", backend_->version());
  spdlog::info("model repository {} (model control mode: {})", config_.model_repository.string(),
               config::ModelControlModeName(config_.model_control_mode));
  repository_->Poll();
  LogRepositoryState();
  RETURN_IF_ERROR(StartHttp());
  if (shared_memory_) {
    spdlog::info("system shared memory: on (at most {} regions); clients may map POSIX shared memory "
                 "objects this process can open", config_.shared_memory.max_regions);
  }
  if (config_.model_control_mode == config::ModelControlMode::kPoll) {
    poll_thread_ = std::thread([this] { PollLoop(); });
  }
  if (mqtt_) mqtt_->Start();
  if (config_.grpc.enabled) {
    ASSIGN_OR_RETURN(grpc_, StartGrpc(config_.grpc, {repository_.get(), dispatcher_.get(), &metrics_,
                                                     &core::SteadyClock::Instance(), shared_memory_.get(),
                                                     dispatcher_.get()}));
  }
  if (http_) http_->SetReady(true);
  return core::Status::Ok();
}

core::Status Server::StartHttp() {
  const config::HttpConfig& c = config_.http;
  if (!c.enabled) return core::Status::Ok();
  http::HttpOptions options;
  options.address = c.address;
  options.port = c.port;
  options.io_threads = c.io_threads;
  options.max_body_bytes = static_cast<size_t>(c.max_body_bytes);
  options.max_header_bytes = static_cast<size_t>(c.max_header_bytes);
  options.max_elements_per_tensor = c.max_elements_per_tensor;
  options.idle_timeout_secs = c.idle_timeout_secs;
  options.request_timeout_secs = c.request_timeout_secs;
  options.allow_model_control = config_.model_control_mode != config::ModelControlMode::kNone;
  options.server_version = INFERGATE_VERSION;
  ASSIGN_OR_RETURN(http_, http::HttpServer::Create(std::move(options), dispatcher_.get(),
                                                   repository_.get(), &metrics_, contracts_.get(),
                                                   shared_memory_.get(), dispatcher_.get()));
  RETURN_IF_ERROR(http_->Start());
  spdlog::info("http: listening on {}:{}", http_->address(), http_->port());
  return core::Status::Ok();
}


void Server::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (mqtt_) mqtt_->Stop();  // drains: its requests finish while the models are still loaded
  if (grpc_) grpc_->Stop();
  stop_cv_.notify_all();
  if (http_) http_->Stop();
  if (poll_thread_.joinable()) poll_thread_.join();
  // What the process ends with (e.g. infergate_pipeline_device_memory_bytes),
  // for runs without an HTTP /metrics scrape (bench/telemetry_bench.cc).
  spdlog::debug("metrics at shutdown:\n{}", metrics_.RenderPrometheus());
}

void Server::PollLoop() {
  const auto interval = std::chrono::duration<double>(config_.repository_poll_secs);
  std::unique_lock lock(mu_);
  while (!stop_cv_.wait_for(lock, interval, [this] { return stopping_; })) {
    lock.unlock();
    repository_->Poll();
    LogRepositoryState();
    lock.lock();
  }
}

void Server::LogRepositoryState() {
  std::map<std::pair<std::string, int64_t>, core::VersionStatus> now;
  auto index = repository_->Index();
  if (index.empty() && logged_.empty()) spdlog::warn("the model repository holds no models");
  for (const auto& model : index) {
    if (!model.reason.empty() && logged_model_reasons_[model.name] != model.reason) {
      spdlog::warn("model {}: {}", model.name, model.reason);
    }
    logged_model_reasons_[model.name] = model.reason;
    for (const auto& v : model.versions) {
      now[{model.name, v.version}] = v;
      auto old = logged_.find({model.name, v.version});
      if (old != logged_.end() && old->second.state == v.state && old->second.reason == v.reason) continue;
      if (v.state == core::ModelState::kReady) {
        spdlog::info("model {} version {} READY", model.name, v.version);
      } else {
        spdlog::warn("model {} version {} {}: {}", model.name, v.version,
                     core::ModelStateName(v.state), v.reason);
      }
    }
  }
  for (const auto& [key, status] : logged_) {
    if (!now.count(key)) spdlog::info("model {} version {} unloaded", key.first, key.second);
  }
  logged_ = std::move(now);
}

int RunServe(config::ServerConfig config) {
  // Block the stop signals before any thread starts so that only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = Server::Create(std::move(config));
  if (!server.ok()) {
    spdlog::error("{}", server.status().message());
    return 2;
  }
  if (auto st = (*server)->Start(); !st.ok()) {
    spdlog::error("{}", st.message());
    return 1;
  }
  spdlog::info("infergate ready");
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  (*server)->Stop();
  spdlog::info("infergate stopped");
  return 0;
}

}  // namespace infergate::server

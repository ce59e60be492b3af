#include "engine/engine.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "pipeline/plan.h"

namespace infergate::engine {

core::StatusOr<std::unique_ptr<Engine>> Engine::Create(EngineOptions options) {
  if (options.backends.empty()) return core::InvalidArgument("the engine needs at least one backend");
  if (!options.parse_config) return core::InvalidArgument("the engine needs a config.yaml parser");
  if (options.shared_memory && options.max_shared_memory_regions < 1) {
    return core::InvalidArgument("shared_memory.max_regions must be >= 1");
  }
  std::unique_ptr<Engine> engine(new Engine(std::move(options)));
  core::ModelRepository::Options repo;
  repo.root = engine->options_.model_repository;
  for (const auto& backend : engine->backends_) {
    RETURN_IF_ERROR(repo.backends.Add(backend.get()));
    backend->SetMetrics(&engine->metrics_);
  }
  repo.parse_config = engine->options_.parse_config;
  repo.check_config = &pipeline::CheckContract;  // a device: section must fit its model
  repo.warn = [](const std::string& warning) { spdlog::warn("repository: {}", warning); };
  ASSIGN_OR_RETURN(engine->repository_, core::ModelRepository::Create(std::move(repo)));
  Engine& e = *engine;
  e.repository_->SetMetrics(&e.metrics_);
  std::error_code ec;
  e.repository_path_ = std::filesystem::absolute(e.repository_->root(), ec).string();
  // The dispatcher and the contracts listen to the repository: built before
  // its first Poll (in Start).
  e.dispatcher_ = std::make_unique<core::Dispatcher>(e.repository_.get(), &e.metrics_, e.clock_);
  e.contracts_ = std::make_unique<pipeline::DeviceContracts>(
      e.repository_.get(), pipeline::ContractRunner::Options{e.clock_, &e.metrics_});
  e.escalation_ = std::make_unique<EscalatingService>(
      e.dispatcher_.get(), EscalatingService::LookupIn(e.repository_.get()), &e.metrics_, e.clock_);
  e.devices_ = std::make_unique<pipeline::DeviceService>(e.contracts_.get(), e.escalation_.get());
  e.model_control_ = std::make_unique<ModelControl>(e.repository_.get(), e.options_.model_control);
  if (e.options_.shared_memory) {
    e.shared_memory_ = std::make_unique<core::SharedMemoryRegistry>(
        static_cast<size_t>(e.options_.max_shared_memory_regions), &e.metrics_, e.options_.shared_memory_key_prefix);
  }
  return engine;
}

Engine::Engine(EngineOptions options)
    : options_(std::move(options)), clock_(options_.clock), backends_(std::move(options_.backends)) {}

Engine::~Engine() { Stop(); }

std::string Engine::backend_versions() const {
  std::string out;
  for (const auto& b : backends_) out += (out.empty() ? "" : ", ") + b->version();
  return out;
}

core::Status Engine::Start() {
  spdlog::info("infergate starting; runtime {}", backend_versions());
  repository_->Poll();
  LogRepositoryState();
  if (options_.poll_secs > 0) poll_thread_ = std::thread([this] { PollLoop(); });
  if (shared_memory_) {
    spdlog::info("system shared memory: on (at most {} regions); loopback clients may register POSIX shared "
                 "memory objects named '{}*' that this process's user owns",
                 options_.max_shared_memory_regions, options_.shared_memory_key_prefix);
  }
  return core::Status::Ok();
}

void Engine::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  ready_ = false;
  stop_cv_.notify_all();
  if (poll_thread_.joinable()) poll_thread_.join();
  if (model_control_) model_control_->Stop();
  if (dispatcher_) dispatcher_->Shutdown();  // answers what is queued
  // What the process ends with (e.g. infergate_pipeline_device_memory_bytes),
  // for runs without an HTTP /metrics scrape (bench/telemetry_bench.cc).
  spdlog::debug("metrics at shutdown:\n{}", metrics_.RenderPrometheus());
}

void Engine::PollLoop() {
  const auto interval = std::chrono::duration<double>(options_.poll_secs);
  std::unique_lock lock(mu_);
  while (!stop_cv_.wait_for(lock, interval, [this] { return stopping_; })) {
    lock.unlock();
    repository_->Poll();
    LogRepositoryState();
    lock.lock();
  }
}

void Engine::LogRepositoryState() {
  std::map<std::pair<std::string, int64_t>, core::VersionStatus> now;
  if (std::string error = repository_->scan_error(); error != logged_scan_error_) {
    if (!error.empty()) spdlog::warn("model repository scan failed, keeping what is loaded: {}", error);
    if (error.empty()) spdlog::info("model repository scan works again");
    logged_scan_error_ = std::move(error);
  }
  auto index = repository_->Index();
  if (index.empty() && logged_.empty()) spdlog::warn("the model repository holds no models");
  // Reasons name files relative to the repository (they also go to
  // clients); the log says where the repository is.
  const std::string& root = repository_path_;
  for (const auto& model : index) {
    if (!model.reason.empty() && logged_model_reasons_[model.name] != model.reason) {
      spdlog::warn("model {}: {} (model repository {})", model.name, model.reason, root);
    }
    logged_model_reasons_[model.name] = model.reason;
    for (const auto& v : model.versions) {
      now[{model.name, v.version}] = v;
      auto old = logged_.find({model.name, v.version});
      if (old != logged_.end() && old->second.state == v.state && old->second.reason == v.reason) continue;
      if (v.state == core::ModelState::kReady) {
        spdlog::info("model {} version {} READY", model.name, v.version);
      } else {
        spdlog::warn("model {} version {} {}: {} (model repository {})", model.name, v.version,
                     core::ModelStateName(v.state), v.reason, root);
      }
    }
  }
  for (const auto& [key, status] : logged_) {
    if (!now.count(key)) spdlog::info("model {} version {} unloaded", key.first, key.second);
  }
  logged_ = std::move(now);
}

}  // namespace infergate::engine

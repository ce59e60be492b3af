// A fixture for the gRPC frontend in process, on the real repository,
// dispatcher and ONNX Runtime backend, over a loopback socket, so a test can
// read the server's metrics. A test puts its models into repo_dir_, then
// calls Serve().
#pragma once

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "backends/onnxruntime/ort_backend.h"
#include "config/model_config_yaml.h"
#include "core/dispatcher.h"
#include "frontends/grpc/grpc_frontend.h"
#include "grpc_service.grpc.pb.h"
#include "testing/temp_dir.h"

namespace infergate::grpc_frontend {

class InProcessGrpcTest : public ::testing::Test {
 protected:
  // Loads repo_dir_ and starts a frontend on a free loopback port with
  // `options` (address and port are set here) and `shared_memory` (may be
  // null: the extension is off); stub_ talks to it.
  void Serve(GrpcFrontendOptions options = {}, core::SharedMemoryRegistry* shared_memory = nullptr) {
    auto backend = ort::OrtBackend::Create({});
    ASSERT_TRUE(backend.ok()) << backend.status().ToString();
    backend_ = std::move(*backend);
    core::ModelRepository::Options repo_options{repo_dir_.path(), {}, &config::ParseModelConfigFile, {}, {}};
    ASSERT_TRUE(repo_options.backends.Add(backend_.get()).ok());
    auto repo = core::ModelRepository::Create(std::move(repo_options));
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repository_ = std::move(*repo);
    dispatcher_ = std::make_unique<core::Dispatcher>(repository_.get(), &metrics_);
    repository_->Poll();
    options.address = "127.0.0.1";
    options.port = 0;
    auto frontend = GrpcFrontend::Create(options, {.repository = repository_.get(),
                                                   .inference = dispatcher_.get(),
                                                   .metrics = &metrics_,
                                                   .shared_memory = shared_memory,
                                                   .statistics = dispatcher_.get()});
    ASSERT_TRUE(frontend.ok()) << frontend.status().ToString();
    frontend_ = std::move(*frontend);
    const core::Status started = frontend_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
    stub_ = inference::GRPCInferenceService::NewStub(::grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(frontend_->port()), ::grpc::InsecureChannelCredentials()));
  }

  // The schedulers' last callbacks may hold a connection of the frontend:
  // they finish (Shutdown joins the scheduler threads) before the frontend,
  // and the io_context its timers belong to, are destroyed.
  void TearDown() override {
    if (frontend_) frontend_->Stop();
    if (dispatcher_) dispatcher_->Shutdown();
  }

  double Gauge(const std::string& name, const core::Labels& labels = {}) {
    return metrics_.GetGauge(name, "", labels).value();
  }
  double Counter(const std::string& name, const core::Labels& labels = {}) {
    return metrics_.GetCounter(name, "", labels).value();
  }

  testing::TempDir repo_dir_;
  core::MetricsRegistry metrics_;
  std::unique_ptr<core::Backend> backend_;
  std::unique_ptr<core::ModelRepository> repository_;
  std::unique_ptr<core::Dispatcher> dispatcher_;
  std::unique_ptr<GrpcFrontend> frontend_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

}  // namespace infergate::grpc_frontend

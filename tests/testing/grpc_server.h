// Starts the real infergate binary with its gRPC frontend on a free loopback
// port (read from the "grpc: listening on ADDR:PORT" log line) and hands out
// a generated inference.GRPCInferenceService stub connected to it.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "grpc_service.grpc.pb.h"
#include "testing/process.h"
#include "testing/serve_command.h"

namespace infergate::testing {

class GrpcServer {
 public:
  // `extra` is appended to `infergate serve --grpc-address 127.0.0.1 --grpc-port 0`.
  explicit GrpcServer(std::vector<std::string> extra) {
    process_ = std::make_unique<Process>(ServeCommand(extra));
    auto m = process_->WaitForLine("grpc: listening on 127\\.0\\.0\\.1:([0-9]+)");
    if (!m) return;
    port_ = std::stoi((*m)[1]);
    if (!process_->WaitForLine("infergate ready")) return;
    channel_ = ::grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), ::grpc::InsecureChannelCredentials());
    stub_ = inference::GRPCInferenceService::NewStub(channel_);
  }

  bool ok() const { return stub_ != nullptr; }
  int port() const { return port_; }
  Process& process() { return *process_; }
  inference::GRPCInferenceService::Stub& stub() { return *stub_; }
  std::shared_ptr<::grpc::Channel> channel() { return channel_; }

 private:
  std::unique_ptr<Process> process_;
  int port_ = 0;
  std::shared_ptr<::grpc::Channel> channel_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

}  // namespace infergate::testing

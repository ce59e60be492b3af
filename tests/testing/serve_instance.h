// One real `infergate serve` on loopback with its HTTP and gRPC ports (read
// from the "listening on" log lines) and a gRPC stub, for tests that run
// several servers side by side (an edge and a cloud). Ports 0 pick free
// ones; giving the ports a server had restarts it in place.
#pragma once

#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "grpc_service.grpc.pb.h"
#include "testing/process.h"

namespace infergate::testing {

struct ServeInstance {
  std::unique_ptr<Process> process;
  int http_port = 0;
  int grpc_port = 0;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub;  // plain gRPC; null with TLS or on failure
  bool ready = false;

  // Serves `repo` (polled every 0.2 s); `extra` is appended to the command.
  static ServeInstance Start(const std::filesystem::path& repo, int http_port = 0, int grpc_port = 0,
                             const std::vector<std::string>& extra = {}, bool tls = false) {
    ServeInstance s;
    std::vector<std::string> argv{INFERGATE_BINARY, "serve", "--http-address", "127.0.0.1", "--http-port",
                                  std::to_string(http_port), "--grpc-address", "127.0.0.1", "--grpc-port",
                                  std::to_string(grpc_port), "--model-repository", repo.string(),
                                  "--repository-poll-secs", "0.2"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    s.process = std::make_unique<Process>(argv);
    for (int i = 0; i < 2; ++i) {
      auto m = s.process->WaitForLine("(http|grpc): listening on 127\\.0\\.0\\.1:([0-9]+)");
      if (!m) return s;
      ((*m)[1] == "http" ? s.http_port : s.grpc_port) = std::stoi((*m)[2]);
    }
    if (!s.process->WaitForLine("infergate ready")) return s;
    s.ready = true;
    if (tls) return s;
    auto channel = ::grpc::CreateChannel("127.0.0.1:" + std::to_string(s.grpc_port),
                                         ::grpc::InsecureChannelCredentials());
    s.stub = inference::GRPCInferenceService::NewStub(channel);
    return s;
  }

  std::string http() const { return "http://127.0.0.1:" + std::to_string(http_port); }
};

}  // namespace infergate::testing

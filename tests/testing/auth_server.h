// The real infergate binary with authentication: a temporary repository
// (vib_a and pump_b, both identity_fp32), a tokens file the test writes, and
// a config turning shared memory on; HTTP and gRPC on free ports of
// `address` (the ports read from the "listening on" log lines).
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "auth/token.h"
#include "grpc_service.grpc.pb.h"
#include "testing/model_repo.h"
#include "testing/process.h"
#include "testing/temp_dir.h"

namespace infergate::testing {

// One tokens file entry for `token`.
inline std::string TokenEntry(const std::string& name, const std::string& token,
                              const std::string& scopes, const std::string& models = "") {
  std::string y = "- name: " + name + "\n  sha256: " + auth::HexDigest(auth::Sha256(token)) +
                  "\n  scopes: [" + scopes + "]\n";
  if (!models.empty()) y += "  models: [" + models + "]\n";
  return y;
}

class AuthServer {
 public:
  // `tokens`: the tokens file's text; nullopt: authentication off.
  explicit AuthServer(std::optional<std::string> tokens, const std::string& address = "127.0.0.1") {
    CopyModel(dir_, "identity_fp32.onnx", "repo/vib_a");
    CopyModel(dir_, "identity_fp32.onnx", "repo/pump_b");
    std::string config =
        "model_repository: repo\nmodel_control_mode: explicit\nshared_memory:\n  enabled: true\n";
    if (tokens) {
      tokens_file_ = dir_.Write("tokens.yaml", *tokens);
      config += "auth:\n  tokens_file: tokens.yaml\n";
    }
    const auto config_file = dir_.Write("infergate.yaml", config);
    process_ = std::make_unique<Process>(
        std::vector<std::string>{INFERGATE_BINARY, "serve", "--config", config_file.string(),
                                 "--log-level", "debug", "--http-address", address, "--http-port",
                                 "0", "--grpc-address", address, "--grpc-port", "0"});
    auto http = process_->WaitForLine("http: listening on [^ ]*:([0-9]+)");
    auto grpc = process_->WaitForLine("grpc: listening on [^ ]*:([0-9]+)");
    if (!http || !grpc || !process_->WaitForLine("infergate ready")) return;
    http_port_ = std::stoi((*http)[1]);
    grpc_port_ = std::stoi((*grpc)[1]);
  }

  bool ok() const { return grpc_port_ > 0; }
  int http_port() const { return http_port_; }
  int grpc_port() const { return grpc_port_; }
  Process& process() { return *process_; }
  const TempDir& dir() const { return dir_; }
  const std::filesystem::path& tokens_file() const { return tokens_file_; }

  // A stub connected to `host` (an address of this machine) at the gRPC port.
  std::unique_ptr<inference::GRPCInferenceService::Stub> Stub(
      const std::string& host = "127.0.0.1") const {
    auto channel = ::grpc::CreateChannel(host + ":" + std::to_string(grpc_port_),
                                         ::grpc::InsecureChannelCredentials());
    return inference::GRPCInferenceService::NewStub(channel);
  }

 private:
  TempDir dir_;
  std::filesystem::path tokens_file_;
  std::unique_ptr<Process> process_;
  int http_port_ = 0;
  int grpc_port_ = 0;
};

// A ClientContext with a deadline and, unless empty, `authorization` metadata.
inline std::unique_ptr<::grpc::ClientContext> AuthContext(const std::string& authorization) {
  auto c = std::make_unique<::grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  if (!authorization.empty()) c->AddMetadata("authorization", authorization);
  return c;
}

}  // namespace infergate::testing

// Helper for whole-system gRPC load runs with h2load (Debian nghttp2-client),
// which sends a fixed body and cannot build protobuf messages itself:
//
//   grpc_payload infer FILE [BATCH]   writes a framed ModelInferRequest for
//                                     model "mlp" (FP32 [BATCH,16], raw contents)
//   grpc_payload live FILE            writes a framed ServerLiveRequest (empty)
//   grpc_payload stats HOST:PORT MODEL  prints the model's success and failure
//                                     counts (h2load counts HTTP status only;
//                                     a gRPC error still has HTTP 200, so a run
//                                     is checked here)
//
// Framing: gRPC's length-prefixed message (1 byte "not compressed", 4 bytes
// big-endian length, the message). docs/benchmarks.md shows the commands.
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "grpc_service.grpc.pb.h"
#include "testing/mlp_request.h"

namespace {

bool WriteFramed(const google::protobuf::Message& message, const std::string& file) {
  const std::string body = message.SerializeAsString();
  const uint32_t n = static_cast<uint32_t>(body.size());
  const char header[5] = {0, static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                          static_cast<char>(n)};
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(header, 5);
  out.write(body.data(), static_cast<std::streamsize>(body.size()));
  return static_cast<bool>(out);
}

int Stats(const std::string& target, const std::string& model) {
  auto stub = inference::GRPCInferenceService::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  inference::ModelStatisticsRequest request;
  request.set_name(model);
  inference::ModelStatisticsResponse response;
  auto status = stub->ModelStatistics(&context, request, &response);
  if (!status.ok() || response.model_stats_size() != 1) {
    std::cerr << "ModelStatistics failed: " << status.error_message() << "\n";
    return 1;
  }
  const auto& s = response.model_stats(0).inference_stats();
  std::cout << "success " << s.success().count() << " fail " << s.fail().count() << " executions "
            << response.model_stats(0).execution_count() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() >= 2 && args[0] == "infer") {
    const int batch = args.size() > 2 ? std::stoi(args[2]) : 1;
    return WriteFramed(infergate::testing::MlpRequest("mlp", "", /*raw=*/true, batch), args[1]) ? 0 : 1;
  }
  if (args.size() == 2 && args[0] == "live") return WriteFramed(inference::ServerLiveRequest(), args[1]) ? 0 : 1;
  if (args.size() == 3 && args[0] == "stats") return Stats(args[1], args[2]);
  std::cerr << "usage: grpc_payload infer FILE [BATCH] | live FILE | stats HOST:PORT MODEL\n";
  return 2;
}

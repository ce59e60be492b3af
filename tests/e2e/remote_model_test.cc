// Remote models end to end: two real infergate processes on loopback. The
// "cloud" serves mlp16 as `mlp`; the "edge" serves remote models pointing to
// it over gRPC and over HTTP. Answers through the edge equal the cloud's,
// metadata is the cloud's, a dead cloud is UNAVAILABLE naming the remote
// within the timeout, and a cloud that comes back is used again.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <regex>
#include <csignal>
#include <filesystem>
#include <thread>
#include <tuple>

#include "grpc_service.grpc.pb.h"
#include "testing/http_client.h"
#include "testing/mlp_request.h"
#include "testing/model_repo.h"
#include "testing/serve_instance.h"
#include "testing/time_scale.h"
#include "testing/temp_dir.h"

namespace infergate {
namespace {

using testing::CurlClient;
using testing::MlpRequest;
using testing::TempDir;

using Instance = testing::ServeInstance;

grpc::Status Infer(inference::GRPCInferenceService::Stub& stub, const std::string& model,
                   inference::ModelInferResponse* out, int64_t batch = 1) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return stub.ModelInfer(&context, MlpRequest(model, "r", true, batch), out);
}

std::vector<float> Floats(const inference::ModelInferResponse& r) {
  const std::string& raw = r.raw_output_contents(0);
  std::vector<float> out(raw.size() / 4);
  std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

std::string MlpBody() {
  nlohmann::json data = nlohmann::json::array();
  for (int i = 0; i < 16; ++i) data.push_back(static_cast<float>(i % 7) * 0.25f - 0.5f);
  nlohmann::json body = {{"inputs", {{{"name", "input"}, {"datatype", "FP32"}, {"shape", {1, 16}}, {"data", data}}}}};
  return body.dump();
}

void WriteEdgeRepository(const TempDir& edge, int cloud_grpc, int cloud_http) {
  edge.Write("via_grpc/config.yaml", "backend: remote\nremote:\n  url: grpc://127.0.0.1:" + std::to_string(cloud_grpc) +
                                         "\n  model: mlp\n  timeout_ms: 1000\n");
  edge.Write("via_http/config.yaml",
             "remote:\n  url: http://127.0.0.1:" + std::to_string(cloud_http) + "\n  model: mlp\n  timeout_ms: 1000\n");
  edge.Write("batched/config.yaml", "max_batch_size: 8\n"
                                    "dynamic_batching: {preferred_batch_size: [8], max_queue_delay_microseconds: 200000}\n"
                                    "remote: {url: 'grpc://127.0.0.1:" + std::to_string(cloud_grpc) + "', model: mlp}\n");
}

// Waits until `model` answers through `stub` (the cloud came back).
bool AnswersWithin(inference::GRPCInferenceService::Stub& stub, const std::string& model, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    inference::ModelInferResponse r;
    if (Infer(stub, model, &r).ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a remote that is restarting
  }
  return false;
}

class RemoteModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::CopyModel(cloud_repo_, "mlp16.onnx", "mlp");
    cloud_ = Instance::Start(cloud_repo_.path());
    ASSERT_TRUE(cloud_.stub) << cloud_.process->Output();
    WriteEdgeRepository(edge_repo_, cloud_.grpc_port, cloud_.http_port);
    edge_ = Instance::Start(edge_repo_.path());
    ASSERT_TRUE(edge_.stub) << edge_.process->Output();
  }

  TempDir cloud_repo_, edge_repo_;
  Instance cloud_, edge_;
};

TEST_F(RemoteModelTest, AnswersThroughTheEdgeAreTheClouds) {
  inference::ModelInferResponse direct;
  grpc::Status cloud_status = Infer(*cloud_.stub, "mlp", &direct, 3);
  ASSERT_TRUE(cloud_status.ok()) << cloud_status.error_message() << cloud_.process->Output();
  for (const char* model : {"via_grpc", "via_http", "batched"}) {
    inference::ModelInferResponse edge;
    grpc::Status st = Infer(*edge_.stub, model, &edge, 3);
    ASSERT_TRUE(st.ok()) << model << ": " << st.error_message() << edge_.process->Output();
    EXPECT_EQ(edge.model_name(), model);
    ASSERT_EQ(edge.outputs_size(), 1);
    EXPECT_EQ(edge.outputs(0).name(), "probabilities");
    EXPECT_EQ(edge.outputs(0).shape(0), 3);
    EXPECT_EQ(Floats(edge), Floats(direct)) << model;
  }
  // Over HTTP to the edge: the same numbers as HTTP to the cloud.
  CurlClient cloud_http(cloud_.http()), edge_http(edge_.http());
  auto want = cloud_http.Post("/v2/models/mlp/infer", MlpBody());
  ASSERT_EQ(want.status, 200) << want.body;
  for (const char* model : {"via_grpc", "via_http"}) {
    auto got = edge_http.Post(std::string("/v2/models/") + model + "/infer", MlpBody());
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(nlohmann::json::parse(got.body)["outputs"][0]["data"],
              nlohmann::json::parse(want.body)["outputs"][0]["data"]);
  }
}

TEST_F(RemoteModelTest, MetadataIsTheClouds) {
  for (const char* model : {"via_grpc", "via_http"}) {
    grpc::ClientContext context;
    inference::ModelMetadataRequest request;
    request.set_name(model);
    inference::ModelMetadataResponse meta;
    ASSERT_TRUE(edge_.stub->ModelMetadata(&context, request, &meta).ok());
    ASSERT_EQ(meta.inputs_size(), 1);
    EXPECT_EQ(meta.inputs(0).name(), "input");
    EXPECT_EQ(meta.inputs(0).datatype(), "FP32");
    EXPECT_EQ(std::vector<int64_t>(meta.inputs(0).shape().begin(), meta.inputs(0).shape().end()),
              (std::vector<int64_t>{-1, 16}));
    ASSERT_EQ(meta.outputs_size(), 1);
    EXPECT_EQ(meta.outputs(0).name(), "probabilities");
    EXPECT_EQ(meta.versions(0), "1");
  }
  CurlClient edge_http(edge_.http());
  auto config = edge_http.Get("/v2/models/via_http/config");
  ASSERT_EQ(config.status, 200) << config.body;
  auto c = nlohmann::json::parse(config.body);
  EXPECT_EQ(c["backend"], "remote");
  EXPECT_EQ(c["max_batch_size"], 32);  // the cloud's
  auto index = edge_http.Post("/v2/repository/index", "{}");
  EXPECT_NE(index.body.find("\"via_grpc\""), std::string::npos) << index.body;
}

// `infergate inspect` on a remote model connects and shows the remote's view.
TEST_F(RemoteModelTest, InspectShowsTheRemotesMetadata) {
  testing::Process inspect({INFERGATE_BINARY, "inspect", (edge_repo_.path() / "via_grpc").string()});
  EXPECT_EQ(inspect.Wait(), 0) << inspect.Output();
  const std::string& out = inspect.Output();
  EXPECT_NE(out.find("loads in remote grpc://127.0.0.1:" + std::to_string(cloud_.grpc_port) + " model 'mlp': yes"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("probabilities  FP32"), std::string::npos) << out;
}

TEST_F(RemoteModelTest, ABatchIsOneRemoteCall) {
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] {
      inference::ModelInferResponse r;
      if (Infer(*edge_.stub, "batched", &r).ok()) ok.fetch_add(1);
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 8);
  auto metrics = CurlClient(edge_.http()).Get("/metrics").body;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(metrics, m,
                                std::regex("infergate_remote_request_duration_seconds_count\\{model=\"batched\"\\} ([0-9]+)")))
      << metrics;
  EXPECT_LT(std::stoi(m[1]), 8);  // fewer remote calls than requests
  EXPECT_GE(std::stoi(m[1]), 1);
}

TEST_F(RemoteModelTest, ADeadCloudIsUnavailableNamingItThenComesBack) {
  ASSERT_TRUE(AnswersWithin(*edge_.stub, "via_grpc", std::chrono::seconds(5)));
  ASSERT_EQ(cloud_.process->Stop(SIGKILL), 128 + SIGKILL);
  const std::string grpc_url = "grpc://127.0.0.1:" + std::to_string(cloud_.grpc_port);
  const std::string http_url = "http://127.0.0.1:" + std::to_string(cloud_.http_port);
  for (const auto& [model, url] : {std::pair<std::string, std::string>{"via_grpc", grpc_url}, {"via_http", http_url}}) {
    inference::ModelInferResponse r;
    const auto start = std::chrono::steady_clock::now();
    grpc::Status st = Infer(*edge_.stub, model, &r);
    EXPECT_LT(std::chrono::steady_clock::now() - start, testing::Scaled(std::chrono::milliseconds(1100)))
        << model;  // within timeout_ms (a refused connection fails at once)
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << model << ": " << st.error_message();
    EXPECT_NE(st.error_message().find("remote " + url + " model 'mlp'"), std::string::npos) << st.error_message();
  }
  auto http = CurlClient(edge_.http()).Post("/v2/models/via_http/infer", MlpBody());
  EXPECT_EQ(http.status, 503) << http.body;
  EXPECT_NE(http.body.find("remote " + http_url + " model 'mlp'"), std::string::npos) << http.body;
  auto metrics = CurlClient(edge_.http()).Get("/metrics").body;
  EXPECT_NE(metrics.find("infergate_remote_failures_total{model=\"via_grpc\",reason=\"UNAVAILABLE\"}"),
            std::string::npos);

  cloud_ = Instance::Start(cloud_repo_.path(), cloud_.http_port, cloud_.grpc_port);
  ASSERT_TRUE(cloud_.stub) << cloud_.process->Output();
  EXPECT_TRUE(AnswersWithin(*edge_.stub, "via_grpc", std::chrono::seconds(5)));
  EXPECT_TRUE(AnswersWithin(*edge_.stub, "via_http", std::chrono::seconds(5)));
}

// The remote's own errors keep their code and message, with the remote named.
TEST_F(RemoteModelTest, TheRemotesErrorsKeepTheirCode) {
  std::filesystem::remove_all(cloud_repo_.path() / "mlp");
  ASSERT_TRUE(cloud_.process->WaitForLine("model mlp version 1 unloaded"));
  for (const auto& [model, scheme, port] : {std::tuple<std::string, std::string, int>{"via_grpc", "grpc", cloud_.grpc_port},
                                            {"via_http", "http", cloud_.http_port}}) {
    inference::ModelInferResponse r;
    grpc::Status st = Infer(*edge_.stub, model, &r);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << model << ": " << st.error_message();
    EXPECT_NE(st.error_message().find("remote " + scheme + "://127.0.0.1:" + std::to_string(port) +
                                      " model 'mlp': "),
              std::string::npos)
        << st.error_message();
    EXPECT_NE(st.error_message().find("unknown model 'mlp'"), std::string::npos) << st.error_message();
  }
}

// A cloud that accepts but never answers: DEADLINE_EXCEEDED after timeout_ms.
TEST_F(RemoteModelTest, AFrozenCloudTimesOut) {
  ASSERT_TRUE(AnswersWithin(*edge_.stub, "via_http", std::chrono::seconds(5)));
  kill(cloud_.process->pid(), SIGSTOP);
  for (const char* model : {"via_grpc", "via_http"}) {
    inference::ModelInferResponse r;
    const auto start = std::chrono::steady_clock::now();
    grpc::Status st = Infer(*edge_.stub, model, &r);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, std::chrono::milliseconds(950)) << model;
    EXPECT_LT(took, std::chrono::milliseconds(1000) + testing::Scaled(std::chrono::milliseconds(500))) << model;
    EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << model << ": " << st.error_message();
    EXPECT_NE(st.error_message().find("model 'mlp': no answer within the timeout"), std::string::npos)
        << st.error_message();
  }
  // A batch to a frozen cloud fails once for all its requests (not once more
  // per request): every answer within the batching delay + timeout_ms.
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  std::atomic<int> timed_out{0};
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&] {
      inference::ModelInferResponse r;
      if (Infer(*edge_.stub, "batched", &r).error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) timed_out++;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(timed_out.load(), 4);
  EXPECT_LT(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(1200) + testing::Scaled(std::chrono::milliseconds(500)));
  kill(cloud_.process->pid(), SIGCONT);
  EXPECT_TRUE(AnswersWithin(*edge_.stub, "via_grpc", std::chrono::seconds(5)));
  EXPECT_TRUE(AnswersWithin(*edge_.stub, "via_http", std::chrono::seconds(5)));
}

TEST(RemoteModelStartTest, ACloudDownAtStartIsLoadedOnceItIsUp) {
  TempDir cloud_repo, edge_repo;
  testing::CopyModel(cloud_repo, "mlp16.onnx", "mlp");
  Instance cloud = Instance::Start(cloud_repo.path());  // for two free ports
  ASSERT_TRUE(cloud.stub);
  const int http_port = cloud.http_port, grpc_port = cloud.grpc_port;
  cloud.process->Stop();
  WriteEdgeRepository(edge_repo, grpc_port, http_port);
  Instance edge = Instance::Start(edge_repo.path());
  ASSERT_TRUE(edge.stub) << edge.process->Output();
  auto meta = CurlClient(edge.http()).Get("/v2/models/via_grpc/ready");
  EXPECT_NE(meta.status, 200);
  auto index = CurlClient(edge.http()).Post("/v2/repository/index", "{}");
  EXPECT_NE(index.body.find("remote grpc://127.0.0.1:" + std::to_string(grpc_port) + " model 'mlp': unreachable"),
            std::string::npos)
      << index.body;
  EXPECT_NE(edge.process->Output().find("model via_grpc version 1 UNAVAILABLE: remote grpc://"), std::string::npos);
  cloud = Instance::Start(cloud_repo.path(), http_port, grpc_port);
  ASSERT_TRUE(cloud.stub) << cloud.process->Output();
  EXPECT_TRUE(edge.process->WaitForLine("model via_grpc version 1 READY", std::chrono::seconds(10)));
  EXPECT_TRUE(AnswersWithin(*edge.stub, "via_http", std::chrono::seconds(5)));
}

}  // namespace
}  // namespace infergate

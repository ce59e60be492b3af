// Graceful shutdown of the whole process, the same on every transport: the
// real infergate binary serving HTTP, gRPC and MQTT (through the real
// mosquitto broker) is sent SIGTERM while requests of all three are in
// flight. Readiness must turn first (HTTP 503, gRPC ServerReady false, the
// MQTT status topic "offline"), every request accepted before the signal must
// be answered, and the process must exit within drain_secs + 1 s.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "testing/grpc_server.h"
#include "testing/http_client.h"
#include "testing/mlp_json.h"
#include "testing/mlp_request.h"
#include "testing/model_repo.h"
#include "testing/mosquitto_broker.h"
#include "testing/mqtt_test_client.h"
#include "testing/process.h"
#include "testing/temp_dir.h"

namespace infergate {
namespace {

using Clock = std::chrono::steady_clock;
using testing::MetricValue;
using testing::MlpJsonBody;
using namespace std::chrono_literals;

constexpr int kHttpRequests = 24;
constexpr int kGrpcRequests = 12;
constexpr int kMqttRequests = 12;
constexpr int kAccepted = kHttpRequests + kGrpcRequests + kMqttRequests;
constexpr double kDrainSecs = 8;

// "slow" holds every request in its queue for 4 s: the batch it waits for
// (128 rows) never fills, so all of them are in flight when SIGTERM comes,
// however slowly a loaded machine sends them.
void MakeRepository(const testing::TempDir& repo) {
  testing::CopyModel(repo, "mlp16.onnx", "slow");
  repo.Write("slow/config.yaml",
             "max_batch_size: 128\n"
             "dynamic_batching:\n"
             "  preferred_batch_size: [128]\n"
             "  max_queue_delay_microseconds: 4000000\n");
}


class DrainE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(broker_.Start()) << broker_.Output();
    MakeRepository(repo_);
    auto config = repo_.Write("infergate.yaml", "drain_secs: " + std::to_string(kDrainSecs) + "\n");
    server_ = std::make_unique<testing::GrpcServer>(std::vector<std::string>{
        "--config", config.string(), "--model-repository", repo_.path().string(), "--mqtt-broker", broker_.url(),
        "--mqtt-client-id", "drained"});
    ASSERT_TRUE(server_->ok()) << server_->process().Output();
    ASSERT_TRUE(OutputHas("mqtt: subscribed to infergate/models/+/infer")) << server_->process().Output();
    auto port = std::regex_search(server_->process().Output(), match_, std::regex("http: listening on [^:]+:([0-9]+)"));
    ASSERT_TRUE(port) << server_->process().Output();
    http_base_ = "http://127.0.0.1:" + match_[1].str();
  }

  // Waits until the server has printed `text` (whether or not an earlier
  // WaitForLine read past it).
  bool OutputHas(const std::string& text) {
    const auto until = Clock::now() + 10s;
    while (server_->process().Output().find(text) == std::string::npos) {
      if (Clock::now() > until) return false;
      server_->process().WaitForLine("^$never", 50ms);  // reads what comes meanwhile
    }
    return true;
  }

  // Waits until the server holds `n` admitted requests of "slow".
  bool WaitInFlight(int n) {
    testing::CurlClient metrics(http_base_);
    const auto until = Clock::now() + 20s;
    while (Clock::now() < until) {
      auto r = metrics.Get("/metrics");
      if (MetricValue(r.body, R"(infergate_inference_in_flight{model="slow",version="1"})") >= n) return true;
    }
    return false;
  }

  testing::MosquittoBroker broker_;
  testing::TempDir repo_;
  std::unique_ptr<testing::GrpcServer> server_;
  std::smatch match_;
  std::string http_base_;
};

TEST_F(DrainE2ETest, SigtermUnderLoadAnswersEveryAcceptedRequestOnEveryTransport) {
  // Watchers connected before the load: a readiness probe on a kept-alive
  // connection, and an MQTT client on the status topic and the replies.
  testing::CurlClient probe(http_base_);
  ASSERT_EQ(probe.Get("/v2/health/ready").status, 200);
  testing::MqttTestClient device(broker_.port(), "device");
  ASSERT_TRUE(device.Connect());
  ASSERT_TRUE(device.Subscribe("drain/replies/#", 1));
  ASSERT_TRUE(device.Subscribe("infergate/status/drained", 1));
  ASSERT_TRUE(device.WaitFor([](const testing::MqttMessage& m) { return m.payload == "online"; }).has_value());

  std::mutex mu;
  std::vector<Clock::time_point> answered_at;
  auto answered = [&] {
    std::lock_guard lock(mu);
    answered_at.push_back(Clock::now());
  };
  std::atomic<int> http_ok{0}, grpc_ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kHttpRequests; ++i) {
    clients.emplace_back([&, i] {
      testing::CurlClient c(http_base_);
      auto r = c.Post("/v2/models/slow/infer", MlpJsonBody("h" + std::to_string(i)));
      answered();
      if (r.status == 200 && r.body.find("\"h" + std::to_string(i) + "\"") != std::string::npos) ++http_ok;
      else ADD_FAILURE() << "http " << i << ": " << r.status << " " << r.body << r.error;
    });
  }
  for (int i = 0; i < kGrpcRequests; ++i) {
    clients.emplace_back([&, i] {
      ::grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + 20s);
      inference::ModelInferResponse response;
      auto st = server_->stub().ModelInfer(&context, testing::MlpRequest("slow", "g" + std::to_string(i), true),
                                           &response);
      answered();
      if (st.ok() && response.id() == "g" + std::to_string(i)) ++grpc_ok;
      else ADD_FAILURE() << "grpc " << i << ": " << st.error_message();
    });
  }
  for (int i = 0; i < kMqttRequests; ++i) {
    testing::PublishOptions o;
    o.qos = 1;
    o.response_topic = "drain/replies/" + std::to_string(i);
    o.correlation_data = "m" + std::to_string(i);
    ASSERT_TRUE(device.Publish("infergate/models/slow/infer", MlpJsonBody("m" + std::to_string(i)), o));
  }
  ASSERT_TRUE(WaitInFlight(kAccepted)) << server_->process().Output();

  const auto sigterm_at = Clock::now();
  ASSERT_EQ(kill(server_->process().pid(), SIGTERM), 0);
  // Readiness turns before any accepted request is answered.
  long probe_status = 200;
  while (probe_status == 200 && Clock::now() < sigterm_at + 5s) probe_status = probe.Get("/v2/health/ready").status;
  const auto unready_at = Clock::now();
  EXPECT_NE(probe_status, 200);
  auto offline = device.WaitFor([](const testing::MqttMessage& m) { return m.payload == "offline"; }, 5s);
  EXPECT_TRUE(offline.has_value());

  int mqtt_ok = 0;
  for (int i = 0; i < kMqttRequests; ++i) {
    auto reply = device.WaitFor(
        [](const testing::MqttMessage& m) { return m.topic.rfind("drain/replies/", 0) == 0; }, 15s);
    if (!reply) break;
    answered();
    if (reply->payload.find("\"error\"") == std::string::npos) ++mqtt_ok;
    else ADD_FAILURE() << reply->topic << ": " << reply->payload;
  }
  for (auto& t : clients) t.join();
  const int exit_code = server_->process().Wait(std::chrono::milliseconds(static_cast<int>(kDrainSecs * 1000) + 5000));
  const auto exited_at = Clock::now();

  EXPECT_EQ(exit_code, 0) << server_->process().Output();
  EXPECT_EQ(http_ok, kHttpRequests);
  EXPECT_EQ(grpc_ok, kGrpcRequests);
  EXPECT_EQ(mqtt_ok, kMqttRequests);
  std::lock_guard lock(mu);
  ASSERT_FALSE(answered_at.empty());
  EXPECT_LT(unready_at, *std::min_element(answered_at.begin(), answered_at.end()))
      << "a request was answered before readiness turned";
  EXPECT_LT(exited_at - sigterm_at, std::chrono::duration<double>(kDrainSecs + 1)) << server_->process().Output();
}

// HTTP alone: nothing else keeps the process alive while HTTP drains.
TEST(DrainHttpE2ETest, SigtermAnswersEveryHttpRequestInFlight) {
  testing::TempDir repo;
  MakeRepository(repo);
  auto config = repo.Write("infergate.yaml", "drain_secs: 8\ngrpc: {enabled: false}\n");
  testing::Process server({INFERGATE_BINARY, "serve", "--config", config.string(), "--model-repository",
                           repo.path().string(), "--http-address", "127.0.0.1", "--http-port", "0"});
  auto port = server.WaitForLine("http: listening on [^:]+:([0-9]+)");
  ASSERT_TRUE(port) << server.Output();
  ASSERT_TRUE(server.WaitForLine("infergate ready")) << server.Output();
  const std::string base = "http://127.0.0.1:" + (*port)[1];

  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kHttpRequests; ++i) {
    clients.emplace_back([&, i] {
      testing::CurlClient c(base);
      auto r = c.Post("/v2/models/slow/infer", MlpJsonBody("h" + std::to_string(i)));
      if (r.status == 200) ++ok;
      else ADD_FAILURE() << "http " << i << ": " << r.status << " " << r.body << r.error;
    });
  }
  testing::CurlClient metrics(base);
  const auto until = Clock::now() + 20s;
  while (Clock::now() < until &&
         MetricValue(metrics.Get("/metrics").body, R"(infergate_inference_in_flight{model="slow",version="1"})") <
             kHttpRequests) {
  }
  const auto sigterm_at = Clock::now();
  EXPECT_EQ(server.Stop(SIGTERM, 10s), 0) << server.Output();
  EXPECT_LT(Clock::now() - sigterm_at, 9s);
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok, kHttpRequests) << server.Output();
  // A connection opened after the drain began is not served.
  testing::CurlClient late(base);
  EXPECT_EQ(late.Get("/v2/health/live").status, 0);
}

// Requests that outlast drain_secs do not hold the process: it exits within
// drain_secs + 1 s, and their clients are not left hanging.
TEST(DrainDeadlineE2ETest, RequestsOutlastingTheDrainDoNotDelayTheExit) {
  testing::TempDir repo;
  MakeRepository(repo);  // "slow" holds requests for 4 s
  auto config = repo.Write("infergate.yaml", "drain_secs: 1\n");
  testing::GrpcServer server({"--config", config.string(), "--model-repository", repo.path().string()});
  ASSERT_TRUE(server.ok()) << server.process().Output();
  std::vector<std::thread> clients;
  std::atomic<int> finished{0};
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&, i] {
      ::grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + 20s);
      inference::ModelInferResponse response;
      server.stub().ModelInfer(&context, testing::MlpRequest("slow", "g" + std::to_string(i), true), &response);
      ++finished;
    });
  }
  const auto until = Clock::now() + 10s;
  while (server.process().Output().find("infergate ready") == std::string::npos && Clock::now() < until) {
  }
  std::smatch m;
  const std::string out = server.process().Output();
  ASSERT_TRUE(std::regex_search(out, m, std::regex("http: listening on [^:]+:([0-9]+)"))) << out;
  testing::CurlClient metrics("http://127.0.0.1:" + m[1].str());
  while (Clock::now() < until &&
         MetricValue(metrics.Get("/metrics").body, R"(infergate_inference_in_flight{model="slow",version="1"})") < 4) {
  }
  const auto sigterm_at = Clock::now();
  EXPECT_EQ(server.process().Stop(SIGTERM, 10s), 0) << server.process().Output();
  EXPECT_LT(Clock::now() - sigterm_at, 2s) << server.process().Output();
  for (auto& t : clients) t.join();
  EXPECT_EQ(finished, 4);
}

}  // namespace
}  // namespace infergate

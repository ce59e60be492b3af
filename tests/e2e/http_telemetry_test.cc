// Device telemetry over HTTP end to end: the real infergate binary serving
// the example models (examples/models) and a model without a device contract,
// driven with libcurl as `curl` would drive it.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "testing/http_client.h"
#include "testing/process.h"
#include "testing/serve_command.h"
#include "testing/temp_dir.h"

namespace infergate {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::CurlClient;
using testing::HttpResult;
using testing::TempDir;

const fs::path kExamples = INFERGATE_EXAMPLE_MODELS_DIR;

void CopyExample(const TempDir& repo, const std::string& name) {
  fs::create_directories(repo.path() / name / "1");
  fs::copy_file(kExamples / name / "1" / "model.onnx", repo.path() / name / "1" / "model.onnx");
  fs::copy_file(kExamples / name / "config.yaml", repo.path() / name / "config.yaml");
}

// The 64 samples of a sample request in examples/sample_requests.
std::vector<double> Samples(const std::string& file) {
  std::ifstream in(kExamples.parent_path() / "sample_requests" / file);
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str())["inputs"][0]["data"].get<std::vector<double>>();
}

class HttpTelemetryE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    CopyExample(repo_, "vibration_anomaly");
    CopyExample(repo_, "predictive_maintenance");
    // The same model without its device section.
    fs::create_directories(repo_.path() / "plain" / "1");
    fs::copy_file(kExamples / "predictive_maintenance" / "1" / "model.onnx",
                  repo_.path() / "plain" / "1" / "model.onnx");
    // A stateful contract: the running mean of every reading so far.
    fs::create_directories(repo_.path() / "mean" / "1");
    fs::copy_file(fs::path(INFERGATE_TEST_MODELS_DIR) / "running_mean.onnx",
                  repo_.path() / "mean" / "1" / "model.onnx");
    repo_.Write("mean/config.yaml", R"(max_batch_size: 8
device:
  inputs: [{name: x, fields: [v]}]
  window: {count: 4}
  state: [{input: h_in, output: h_out}]
  result: {output: mean, fields: {score: mean}, on: always}
)");
    server_ = std::make_unique<testing::Process>(
        testing::ServeCommand({"--model-repository", repo_.path().string()}));
    auto listening = server_->WaitForLine(R"(http: listening on ([0-9.]+):([0-9]+))");
    ASSERT_TRUE(listening) << server_->Output();
    ASSERT_TRUE(server_->WaitForLine("infergate ready")) << server_->Output();
    client_ = std::make_unique<CurlClient>("http://" + (*listening)[1] + ":" + (*listening)[2]);
  }

  void TearDown() override {
    if (server_) {
      EXPECT_EQ(server_->Stop(SIGTERM), 0) << server_->Output();
    }
  }

  HttpResult Send(const std::string& model, const std::string& device, const json& body) {
    return client_->Post("/v2/models/" + model + "/devices/" + device + "/telemetry", body.dump());
  }

  // The value of one sample line of /metrics, or -1 when absent.
  double Metric(const std::string& sample) {
    const std::string text = "\n" + client_->Get("/metrics").body;
    const size_t at = text.find("\n" + sample + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + sample.size() + 2));
  }

  TempDir repo_;
  std::unique_ptr<testing::Process> server_;
  std::unique_ptr<CurlClient> client_;
};

TEST_F(HttpTelemetryE2ETest, VibrationWindowFillsThenVerdictsOnChange) {
  const auto healthy = Samples("vibration_anomaly.json");
  const auto faulty = Samples("vibration_anomaly_faulty.json");
  ASSERT_EQ(healthy.size(), 64u);
  // 16 samples a message: three fill the 64-sample window, the fourth completes it.
  for (int i = 0; i < 3; ++i) {
    auto r = Send("vibration_anomaly", "sensor-1",
                  {{"accel", std::vector<double>(healthy.begin() + i * 16, healthy.begin() + i * 16 + 16)},
                   {"ts", 100.0 + i * 0.016}});
    ASSERT_EQ(r.status, 202) << r.body << r.error;
    EXPECT_EQ(json::parse(r.body), (json{{"status", "window filling"}, {"device", "sensor-1"},
                                         {"readings", 16 * (i + 1)}, {"needed", 48 - 16 * i}}));
  }
  auto first = Send("vibration_anomaly", "sensor-1",
                    {{"accel", std::vector<double>(healthy.begin() + 48, healthy.end())}, {"ts", 100.048}});
  ASSERT_EQ(first.status, 200) << first.body;
  auto verdict = json::parse(first.body);
  EXPECT_EQ(verdict["device"], "sensor-1");
  EXPECT_EQ(verdict["label"], "normal");
  EXPECT_EQ(verdict["alert"], false);
  EXPECT_NEAR(verdict["anomaly_score"].get<double>(), 0.00714, 1e-3);

  // After a pause longer than max_gap_secs the window starts afresh: a whole
  // faulty window in one message changes the verdict, a second one does not.
  auto anomaly = Send("vibration_anomaly", "sensor-1", {{"accel", faulty}, {"ts", 110.0}});
  ASSERT_EQ(anomaly.status, 200) << anomaly.body;
  EXPECT_EQ(json::parse(anomaly.body)["label"], "anomaly");
  EXPECT_EQ(json::parse(anomaly.body)["alert"], true);
  auto same = Send("vibration_anomaly", "sensor-1", {{"accel", faulty}, {"ts", 120.0}});
  ASSERT_EQ(same.status, 200) << same.body;
  EXPECT_EQ(json::parse(same.body), (json{{"status", "no change"}, {"device", "sensor-1"}, {"windows", 1}}));
}

TEST_F(HttpTelemetryE2ETest, PredictiveMaintenanceLabels) {
  auto normal = Send("predictive_maintenance", "pump-7",
                     {{"temperature_c", 52.3}, {"vibration_rms_g", 0.182}, {"pressure_bar", 6.05},
                      {"rpm", 1480}, {"hours_since_service", 1250}});
  ASSERT_EQ(normal.status, 200) << normal.body;
  auto n = json::parse(normal.body);
  EXPECT_EQ(n["label"], "normal");
  EXPECT_EQ(n["model"], "predictive_maintenance");
  ASSERT_EQ(n["top_k"].size(), 2u);
  EXPECT_NEAR(n["score"].get<double>(), 0.936, 1e-3);
  // hours_since_service left out: the device's last value is used.
  auto hot = Send("predictive_maintenance", "pump-7",
                  {{"temperature_c", 78.4}, {"vibration_rms_g", 0.226}, {"pressure_bar", 4.62}, {"rpm", 1510}});
  ASSERT_EQ(hot.status, 200) << hot.body;
  EXPECT_EQ(json::parse(hot.body)["label"], "overheating");
  EXPECT_EQ(json::parse(hot.body)["alert"], true);
  // Through a named version too.
  auto versioned = client_->Post("/v2/models/predictive_maintenance/versions/1/devices/pump-8/telemetry",
                                 R"({"temperature_c": 52.3, "vibration_rms_g": 0.182, "pressure_bar": 6.05,
                                     "rpm": 1480, "hours_since_service": 1250})");
  ASSERT_EQ(versioned.status, 200) << versioned.body;
  EXPECT_EQ(json::parse(versioned.body)["device"], "pump-8");
}

TEST_F(HttpTelemetryE2ETest, StateIsCarriedBetweenRequests) {
  auto first = Send("mean", "d", {{"v", {1, 2, 3, 4}}});
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_FLOAT_EQ(json::parse(first.body)["mean"].get<double>(), 2.5);
  auto second = Send("mean", "d", {{"v", {5, 6, 7, 8}}});
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_FLOAT_EQ(json::parse(second.body)["mean"].get<double>(), 4.5) << "the mean of 1..8";
  // Two windows in one message run one after the other (each needs the
  // state of the one before) and come back together.
  auto two = Send("mean", "d", {{"v", {9, 10, 11, 12, 13, 14, 15, 16}}});
  ASSERT_EQ(two.status, 200) << two.body;
  auto both = json::parse(two.body);
  ASSERT_TRUE(both.is_array() && both.size() == 2) << two.body;
  EXPECT_FLOAT_EQ(both[0]["mean"].get<double>(), 6.5);
  EXPECT_FLOAT_EQ(both[1]["mean"].get<double>(), 8.5);
}

// Each result names the reading that completed its window: the device's own
// `seq` and `ts` when it sends them, else its reading counter (from 0) and
// the arrival time (Unix seconds).
TEST_F(HttpTelemetryE2ETest, ResultsCarryTheReadingsSequenceNumberAndTime) {
  auto sent = Send("mean", "s", {{"v", {1, 2, 3, 4}}, {"seq", 40}, {"ts", 1796676063.125}});
  ASSERT_EQ(sent.status, 200) << sent.body;
  auto result = json::parse(sent.body);
  EXPECT_EQ(result["seq"], 43) << sent.body;
  EXPECT_EQ(result["ts"].get<double>(), 1796676063.125) << sent.body;

  const auto before = std::chrono::system_clock::now();
  auto two = Send("mean", "s", {{"v", {5, 6, 7, 8, 9, 10, 11, 12}}});
  ASSERT_EQ(two.status, 200) << two.body;
  auto both = json::parse(two.body);
  ASSERT_TRUE(both.is_array() && both.size() == 2) << two.body;
  EXPECT_EQ(both[0]["seq"], 7) << "the device's 8th reading completed the window";
  EXPECT_EQ(both[1]["seq"], 11);
  const double now = std::chrono::duration<double>(before.time_since_epoch()).count();
  EXPECT_NEAR(both[0]["ts"].get<double>(), now, 30) << two.body;
}

TEST_F(HttpTelemetryE2ETest, RefusalsAreNamedAndCounted) {
  auto error = [](const HttpResult& r) { return json::parse(r.body)["error"].get<std::string>(); };
  auto bad = Send("predictive_maintenance", "pump-1",
                  {{"temperature_c", "hot"}, {"vibration_rms_g", 0.2}, {"pressure_bar", 6}, {"rpm", 1500},
                   {"hours_since_service", 10}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(error(bad).find("temperature_c"), std::string::npos) << bad.body;
  auto missing = Send("predictive_maintenance", "pump-1", {{"temperature_c", 50}});
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(error(missing).find("vibration_rms_g"), std::string::npos) << missing.body;
  auto malformed = client_->Post("/v2/models/predictive_maintenance/devices/pump-1/telemetry", "{\"rpm\": ");
  EXPECT_EQ(malformed.status, 400) << malformed.body;
  EXPECT_EQ(Metric(R"(infergate_http_requests_rejected_total{reason="invalid_telemetry"})"), 3);

  auto unknown = Send("nope", "pump-1", {{"rpm", 1}});
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(error(unknown).find("nope"), std::string::npos) << unknown.body;
  EXPECT_EQ(Metric(R"(infergate_http_requests_rejected_total{reason="unknown_model"})"), 1);

  auto plain = Send("plain", "pump-1", {{"rpm", 1}});
  EXPECT_EQ(plain.status, 400);
  EXPECT_NE(error(plain).find("no device section"), std::string::npos) << plain.body;
  EXPECT_EQ(Metric(R"(infergate_http_requests_rejected_total{reason="no_device_contract"})"), 1);

  auto meta = json::parse(client_->Get("/v2").body);
  EXPECT_NE(std::find(meta["extensions"].begin(), meta["extensions"].end(), "device_telemetry"),
            meta["extensions"].end());
  EXPECT_EQ(client_->Get("/v2/health/live").status, 200) << "the server keeps running";
}

}  // namespace
}  // namespace infergate

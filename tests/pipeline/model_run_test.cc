// Device contracts through the real pipeline of a served model: telemetry ->
// ContractRunner::Accept -> Dispatcher (scheduler, ONNX Runtime) ->
// Interpret -> result, with the example models and a stateful test model.
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "backends/onnxruntime/ort_backend.h"
#include "core/dispatcher.h"
#include "pipeline/contracts.h"
#include "protocol/telemetry_json.h"
#include "testing/gate.h"
#include "testing/temp_dir.h"
#include "testing/served_repository.h"

namespace infergate::pipeline {
namespace {

namespace fs = std::filesystem;

class ModelRunTest : public ::testing::Test {
 protected:
  void Serve() {
    ort::OrtBackendOptions options;
    options.intra_op_threads = 1;
    backend_ = std::move(*ort::OrtBackend::Create(options));
    repo_ = std::move(*::infergate::testing::MakeServedRepository(dir_.path(), backend_.get()));
    dispatcher_ = std::make_unique<core::Dispatcher>(repo_.get(), &metrics_);
    contracts_ =
        std::make_unique<DeviceContracts>(repo_.get(), ContractRunner::Options{&clock_, &metrics_});
    repo_->Poll();
  }

  // Runs one request through the dispatcher and interprets the response.
  ContractRunner::Outcome Run(ContractRunner& runner, const std::string& device,
                              std::unique_ptr<core::InferRequest> request) {
    std::mutex mu;
    std::condition_variable cv;
    std::unique_ptr<core::InferResponse> response;
    request->on_complete = [&](std::unique_ptr<core::InferResponse> r) {
      std::lock_guard lock(mu);
      response = std::move(r);
      cv.notify_all();
    };
    dispatcher_->Submit(std::move(request));
    std::unique_lock lock(mu);
    EXPECT_TRUE(::infergate::testing::WaitFor(cv, lock, [&] { return response != nullptr; }));
    if (!response) return {};
    return runner.Interpret(device, *response);
  }

  // Accepts `telemetry` and runs whatever requests it completes; the last outcome.
  std::optional<ContractRunner::Outcome> Send(ContractRunner& runner, const std::string& device,
                                              const Telemetry& telemetry) {
    auto requests = runner.Accept(device, telemetry);
    EXPECT_TRUE(requests.ok()) << requests.status().ToString();
    std::optional<ContractRunner::Outcome> last;
    if (!requests.ok()) return last;
    for (auto& r : *requests) last = Run(runner, device, std::move(r));
    return last;
  }

  ::infergate::testing::TempDir dir_;
  core::ManualClock clock_;
  core::MetricsRegistry metrics_;
  std::unique_ptr<core::Backend> backend_;
  std::unique_ptr<core::ModelRepository> repo_;
  std::unique_ptr<core::Dispatcher> dispatcher_;
  std::unique_ptr<DeviceContracts> contracts_;
};

Telemetry Value(double v) {
  Telemetry t;
  t.fields["v"] = v;
  return t;
}

TEST_F(ModelRunTest, StateIsCarriedThroughTheRealModelAndReset) {
  fs::create_directories(dir_.path() / "mean" / "1");
  fs::copy_file(fs::path(INFERGATE_TEST_MODELS_DIR) / "running_mean.onnx",
                dir_.path() / "mean" / "1" / "model.onnx");
  dir_.Write("mean/config.yaml", R"(
max_batch_size: 8
dynamic_batching: {}
device:
  inputs: [{name: x, fields: [v]}]
  window: {count: 4}
  state: [{input: h_in, output: h_out}]
  result: {output: mean, fields: {score: mean}}
)");
  Serve();
  auto runner = contracts_->Get("mean");
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  for (double v : {1, 2, 3}) EXPECT_FALSE(Send(**runner, "d", Value(v)).has_value());
  auto first = Send(**runner, "d", Value(4));
  ASSERT_TRUE(first && first->status.ok() && first->result)
      << (first ? first->status.ToString() : "");
  EXPECT_FLOAT_EQ(first->result->score, 2.5f);
  for (double v : {5, 6, 7}) Send(**runner, "d", Value(v));
  auto second = Send(**runner, "d", Value(8));
  ASSERT_TRUE(second && second->result);
  EXPECT_FLOAT_EQ(second->result->score, 4.5f) << "the mean of 1..8: the state was carried";

  // Another device has its own state.
  for (double v : {100, 100, 100}) Send(**runner, "other", Value(v));
  EXPECT_FLOAT_EQ(Send(**runner, "other", Value(100))->result->score, 100.f);

  ASSERT_TRUE((*runner)->Reset("d"));
  for (double v : {10, 10, 10}) Send(**runner, "d", Value(v));
  EXPECT_FLOAT_EQ(Send(**runner, "d", Value(10))->result->score, 10.f)
      << "reset: the mean starts over";
}

// The sample windows of examples/sample_requests, sent as telemetry in bursts
// of 16 samples: healthy twice, faulty twice, healthy. With on: change the
// device hears three verdicts: the first, and one per change.
TEST_F(ModelRunTest, VibrationContractReportsChanges) {
  const fs::path examples = INFERGATE_EXAMPLE_MODELS_DIR;
  fs::create_directories(dir_.path() / "vibration_anomaly" / "1");
  fs::copy_file(examples / "vibration_anomaly" / "1" / "model.onnx",
                dir_.path() / "vibration_anomaly" / "1" / "model.onnx");
  fs::copy_file(examples / "vibration_anomaly" / "config.yaml",
                dir_.path() / "vibration_anomaly" / "config.yaml");
  Serve();
  auto runner = contracts_->Get("vibration_anomaly");
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();

  auto window = [&](const char* file) {
    std::ifstream in(examples.parent_path() / "sample_requests" / file);
    std::stringstream text;
    text << in.rdbuf();
    const std::string body = text.str();
    const auto begin = body.find("\"data\": [") + 9;
    const std::string data = body.substr(begin, body.find(']', begin) - begin);
    return *protocol::DecodeTelemetry("{\"accel\": [" + data + "]}");  // the 64 samples
  };
  const auto healthy =
      std::get<std::vector<double>>(window("vibration_anomaly.json").fields.at("accel"));
  const auto faulty =
      std::get<std::vector<double>>(window("vibration_anomaly_faulty.json").fields.at("accel"));

  std::vector<std::string> told;
  double ts = 0;
  auto send_window = [&](const std::vector<double>& samples) {
    ts += 2.0;  // a pause over max_gap_secs: the window starts afresh at each sample window
    for (size_t i = 0; i < samples.size(); i += 16) {
      Telemetry t;
      t.fields["accel"] = std::vector<double>(samples.begin() + i, samples.begin() + i + 16);
      t.fields["ts"] = ts;
      ts += 0.016;
      auto requests = (*runner)->Accept("pump-1", t);
      ASSERT_TRUE(requests.ok()) << requests.status().ToString();
      for (auto& r : *requests) {
        auto outcome = Run(**runner, "pump-1", std::move(r));
        ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
        if (outcome.result) told.push_back(protocol::EncodeResult(*outcome.result));
      }
    }
  };
  send_window(healthy);
  send_window(healthy);
  send_window(faulty);
  send_window(faulty);
  send_window(healthy);
  ASSERT_EQ(told.size(), 3u);
  EXPECT_NE(told[0].find("\"label\":\"normal\""), std::string::npos) << told[0];
  EXPECT_NE(told[1].find("\"label\":\"anomaly\""), std::string::npos) << told[1];
  EXPECT_NE(told[1].find("\"alert\":true"), std::string::npos) << told[1];
  EXPECT_NE(told[2].find("\"label\":\"normal\""), std::string::npos) << told[2];
}

}  // namespace
}  // namespace infergate::pipeline

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

  // models/<name>/1/model.onnx from tests/models/<file>, with its config.yaml.
  void AddTestModel(const std::string& name, const std::string& file, const std::string& yaml) {
    fs::create_directories(dir_.path() / name / "1");
    fs::copy_file(fs::path(INFERGATE_TEST_MODELS_DIR) / file, dir_.path() / name / "1" / "model.onnx");
    dir_.Write(name + "/config.yaml", yaml);
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
    for (auto& w : requests->run) last = Run(runner, device, std::move(w.request));
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
  AddTestModel("mean", "running_mean.onnx", R"(
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

// A constant input (device.constants) goes with every window, also when the
// dynamic batcher runs several windows in one batch: OUTPUT0 = x + k.
TEST_F(ModelRunTest, ConstantsGoWithEveryWindowOfABatch) {
  AddTestModel("k", "add_sub.onnx", R"(
max_batch_size: 8
dynamic_batching: {max_queue_delay_microseconds: 200000}
device:
  inputs: [{name: INPUT0, fields: [{name: x, length: 4}]}]
  constants: {INPUT1: {datatype: FP32, shape: [4], value: [10, 20, 30, 40]}}
  result: {output: OUTPUT0, labels: [a, b, c, d], top_k: 4}
)");
  Serve();
  auto runner = contracts_->Get("k");
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  Telemetry t;
  t.fields["x"] = std::vector<double>{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3};  // 3 readings
  auto accepted = (*runner)->Accept("d", t);
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  ASSERT_EQ(accepted->run.size(), 3u);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::unique_ptr<core::InferResponse>> responses(3);
  size_t done = 0;
  for (size_t i = 0; i < 3; ++i) {
    accepted->run[i].request->on_complete = [&, i](std::unique_ptr<core::InferResponse> r) {
      std::lock_guard lock(mu);
      responses[i] = std::move(r);
      ++done;
      cv.notify_all();
    };
    dispatcher_->Submit(std::move(accepted->run[i].request));
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(::infergate::testing::WaitFor(cv, lock, [&] { return done == 3; }));
  }
  for (size_t i = 0; i < 3; ++i) {
    auto outcome = (*runner)->Interpret("d", *responses[i]);
    ASSERT_TRUE(outcome.status.ok() && outcome.result) << outcome.status.ToString();
    ASSERT_EQ(outcome.result->top_k.size(), 4u);
    EXPECT_EQ(outcome.result->top_k[0].label, "d");
    EXPECT_FLOAT_EQ(outcome.result->top_k[0].score, 40.f + static_cast<float>(i + 1));
    EXPECT_FLOAT_EQ(outcome.result->top_k[3].score, 10.f + static_cast<float>(i + 1));
  }
  EXPECT_NE(metrics_.RenderPrometheus().find(
                "infergate_inference_executions_total{model=\"k\",version=\"1\"} 1\n"),
            std::string::npos)
      << "the three windows ran as one batch\n"
      << metrics_.RenderPrometheus();
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
      for (auto& w : requests->run) {
        auto outcome = Run(**runner, "pump-1", std::move(w.request));
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

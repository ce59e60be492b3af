#include "pipeline/contract_runner.h"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>

#include "pipeline/contract_fixture.h"
#include "pipeline/tensor_values.h"

namespace infergate::pipeline {
namespace {

using std::chrono::seconds;

constexpr int64_t kNow = 1732540000;  // the wall clock's start, Unix time

// A model over a window of 4 scalar readings with an 2-element state.
const char* kStatefulYaml = R"(
max_batch_size: 8
input: [{name: v, data_type: FP32, dims: [4]}, {name: h_in, data_type: FP32, dims: [2]}]
output: [{name: score, data_type: FP32, dims: [1]}, {name: h_out, data_type: FP32, dims: [2]}]
device:
  max_devices: 2
  idle_ttl_secs: 60
  inputs: [{name: v, fields: [v]}]
  window: {count: 4, hop: 2}
  state: [{input: h_in, output: h_out, initial: 0}]
  result: {threshold: 0.5, on: threshold}
)";

// A window of the last 4 seconds of readings, one slot a second, every 2 s.
const char* kTimeWindowYaml = R"(
input: [{name: v, data_type: FP64, dims: [4]}]
output: [{name: score, data_type: FP32, dims: [1]}]
device:
  inputs: [{name: v, fields: [v]}]
  window: {length_secs: 4, hop_secs: 2, period_secs: 1, fill: previous}
)";

class ContractRunnerTest : public ::testing::Test {
 protected:
  std::unique_ptr<ContractRunner> Make(const char* yaml) {
    auto r = ContractRunner::Create(testing::ConfigFromYaml(yaml), 7, {&clock_, &metrics_, &wall_});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return std::move(*r);
  }
  static Telemetry V(double v) {
    Telemetry t;
    t.fields["v"] = v;
    return t;
  }
  // A reading stamped with its time (the contract's `ts` field).
  static Telemetry At(double ts, double v) {
    Telemetry t = V(v);
    t.fields["ts"] = ts;
    return t;
  }
  static std::vector<double> Input(const core::InferRequest& r, const std::string& name) {
    for (const auto& in : r.inputs) {
      if (in.name == name) return *ToDoubles(in.tensor, name);
    }
    ADD_FAILURE() << "no input " << name;
    return {};
  }
  static core::InferResponse Response(double score, std::vector<double> h) {
    core::InferResponse r;
    r.model_name = "m";
    r.outputs.push_back(
        {"score", ToTensor(core::DataType::kFp32, {1, 1}, std::vector<double>{score}), {}});
    r.outputs.push_back({"h_out", ToTensor(core::DataType::kFp32, {1, 2}, h), {}});
    return r;
  }
  double Metric(const std::string& line) {
    const std::string text = metrics_.RenderPrometheus();
    auto pos = text.find(line + " ");
    if (pos == std::string::npos) return -1;
    return std::stod(text.substr(pos + line.size() + 1));
  }

  core::ManualClock clock_;
  core::MetricsRegistry metrics_;
  core::ManualWallClock wall_{core::WallTime(seconds(kNow))};
};

TEST_F(ContractRunnerTest, CountWindowBuildsTheModelsTensors) {
  auto runner = Make(kStatefulYaml);
  for (double v : {1, 2, 3}) {
    auto reqs = runner->Accept("d1", V(v));
    ASSERT_TRUE(reqs.ok());
    EXPECT_TRUE(reqs->run.empty()) << "the window is filling";
  }
  auto reqs = runner->Accept("d1", V(4));
  ASSERT_TRUE(reqs.ok()) << reqs.status().ToString();
  ASSERT_EQ(reqs->run.size(), 1u);
  const auto& req = *reqs->run.front().request;
  EXPECT_EQ(req.model_name, "m");
  EXPECT_EQ(req.model_version, 7);
  ASSERT_EQ(req.inputs.size(), 2u);
  EXPECT_EQ(req.inputs[0].tensor.shape(), (core::Shape{1, 4}));
  EXPECT_EQ(req.inputs[0].tensor.dtype(), core::DataType::kFp32);
  EXPECT_EQ(Input(req, "v"), (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(Input(req, "h_in"), (std::vector<double>{0, 0}));
  ASSERT_EQ(req.outputs.size(), 2u);
  EXPECT_EQ(req.outputs[0].name, "score");
  EXPECT_EQ(req.outputs[1].name, "h_out");
  EXPECT_EQ(Metric("infergate_pipeline_windows_total{model=\"m\"}"), 1);
}

TEST_F(ContractRunnerTest, ConstantsAreFedWithEveryWindow) {
  auto runner = Make(R"(
max_batch_size: 8
input: [{name: v, data_type: FP32, dims: [1]}, {name: sr, data_type: INT64, dims: [1]}]
output: [{name: score, data_type: FP32, dims: [1]}]
device:
  inputs: [{name: v, fields: [v]}]
  constants: {sr: {datatype: INT64, shape: [1], value: [16000]}}
)");
  for (double v : {1, 2}) {
    auto reqs = runner->Accept("d1", V(v));
    ASSERT_TRUE(reqs.ok()) << reqs.status().ToString();
    ASSERT_EQ(reqs->run.size(), 1u);
    const auto& req = *reqs->run[0].request;
    ASSERT_EQ(req.inputs.size(), 2u);
    EXPECT_EQ(req.inputs[1].name, "sr");
    EXPECT_EQ(req.inputs[1].tensor.dtype(), core::DataType::kInt64);
    EXPECT_EQ(req.inputs[1].tensor.shape(), (core::Shape{1, 1})) << "batched: a row per window";
    EXPECT_EQ(Input(req, "sr"), std::vector<double>{16000});
  }
}

TEST_F(ContractRunnerTest, WindowsCarryTheStampOfTheReadingThatCompletedThem) {
  auto runner = Make(kStatefulYaml);
  for (double v : {1, 2, 3}) ASSERT_TRUE(runner->Accept("d1", At(kNow + v, v))->run.empty());
  auto first = runner->Accept("d1", At(kNow + 7.25, 4));
  ASSERT_EQ(first->run.size(), 1u);
  EXPECT_EQ(first->run[0].stamp.seq, 3) << "the device's fourth reading (counted from 0)";
  EXPECT_EQ(first->run[0].stamp.ts, kNow + 7.25);
  Telemetry numbered = At(kNow + 8, 5);
  numbered.fields["seq"] = 41.0;
  EXPECT_TRUE(runner->Accept("d1", numbered)->run.empty());
  numbered = At(kNow + 9, 6);
  numbered.fields["seq"] = 42.0;
  auto waiting = runner->Accept("d1", numbered);
  ASSERT_TRUE(waiting.ok()) << waiting.status().ToString();
  EXPECT_EQ(waiting->queued, 1u) << "in flight: the window waits";
  auto outcome = runner->Interpret("d1", Response(0.1, {0, 0}));
  ASSERT_TRUE(outcome.next.has_value());
  EXPECT_EQ(outcome.next->stamp.seq, 42) << "the device's own seq field";
  EXPECT_EQ(outcome.next->stamp.ts, kNow + 9);
  numbered.fields["seq"] = 4.5;
  EXPECT_EQ(runner->Accept("d1", numbered).status().code(), core::StatusCode::kInvalidArgument);
}

TEST_F(ContractRunnerTest, StateIsCarriedOneInferenceAtATimeAndReset) {
  auto runner = Make(kStatefulYaml);
  ContractRunner::Accepted reqs;
  for (double v : {1, 2, 3, 4}) reqs = std::move(*runner->Accept("d1", V(v)));
  ASSERT_EQ(reqs.run.size(), 1u);
  // Two more readings complete the next window while the first is in flight: it waits.
  EXPECT_TRUE(runner->Accept("d1", V(5))->run.empty());
  EXPECT_TRUE(runner->Accept("d1", V(6))->run.empty());
  auto outcome = runner->Interpret("d1", Response(0.1, {0.25, -1}));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_FALSE(outcome.result.has_value()) << "on: threshold and 0.1 is below it";
  ASSERT_TRUE(outcome.next.has_value()) << "the waiting window is released with the new state";
  EXPECT_EQ(Input(*outcome.next->request, "v"), (std::vector<double>{3, 4, 5, 6}));
  EXPECT_EQ(Input(*outcome.next->request, "h_in"), (std::vector<double>{0.25, -1}));

  auto second = runner->Interpret("d1", Response(0.9, {2, 3}));
  ASSERT_TRUE(second.result.has_value());
  EXPECT_TRUE(second.result->alert);
  EXPECT_EQ(second.result->device_id, "d1");
  EXPECT_FALSE(second.next.has_value());

  EXPECT_TRUE(runner->Reset("d1"));
  EXPECT_FALSE(runner->Reset("unknown"));
  for (double v : {7, 8, 9})
    EXPECT_TRUE(runner->Accept("d1", V(v))->run.empty()) << "reset empties the window";
  reqs = std::move(*runner->Accept("d1", V(10)));
  ASSERT_EQ(reqs.run.size(), 1u);
  EXPECT_EQ(Input(*reqs.run[0].request, "h_in"), (std::vector<double>{0, 0}))
      << "reset restores the initial state";
}

TEST_F(ContractRunnerTest, ResetFieldInTelemetryAndFailedInferenceKeepsState) {
  auto runner = Make(kStatefulYaml);
  ContractRunner::Accepted reqs;
  for (double v : {1, 2, 3, 4}) reqs = std::move(*runner->Accept("d1", V(v)));
  core::InferResponse failed;
  failed.status = core::Unavailable("queue full");
  auto outcome = runner->Interpret("d1", failed);
  EXPECT_EQ(outcome.status.code(), core::StatusCode::kUnavailable);
  EXPECT_FALSE(outcome.result.has_value());
  Telemetry reset = V(1);
  reset.fields["reset"] = 1.0;
  EXPECT_TRUE(runner->Accept("d1", reset)->run.empty());
  for (double v : {2, 3}) EXPECT_TRUE(runner->Accept("d1", V(v))->run.empty());
  reqs = std::move(*runner->Accept("d1", V(4)));
  EXPECT_EQ(reqs.run.size(), 1u) << "the window restarted at the reset reading";
}

TEST_F(ContractRunnerTest, TtlEvictionResetsStateAndFreesMemory) {
  auto runner = Make(kStatefulYaml);
  ContractRunner::Accepted reqs;
  for (double v : {1, 2, 3, 4}) reqs = std::move(*runner->Accept("d1", V(v)));
  runner->Interpret("d1", Response(0.1, {5, 5})).status.IgnoreError();
  EXPECT_EQ(runner->device_count(), 1u);
  const double bytes = Metric("infergate_pipeline_device_memory_bytes{model=\"m\"}");
  EXPECT_GT(bytes, 0);
  EXPECT_EQ(bytes, static_cast<double>(runner->memory_bytes()));

  clock_.Advance(seconds(59));
  EXPECT_EQ(runner->EvictIdle(), 0u);
  clock_.Advance(seconds(1));
  EXPECT_EQ(runner->EvictIdle(), 1u);
  EXPECT_EQ(runner->device_count(), 0u);
  EXPECT_EQ(runner->memory_bytes(), 0u);
  EXPECT_EQ(Metric("infergate_pipeline_device_memory_bytes{model=\"m\"}"), 0);
  EXPECT_EQ(Metric("infergate_pipeline_devices{model=\"m\"}"), 0);
  EXPECT_EQ(Metric("infergate_pipeline_devices_evicted_total{model=\"m\"}"), 1);

  for (double v : {1, 2, 3})
    EXPECT_TRUE(runner->Accept("d1", V(v))->run.empty()) << "the window starts afresh";
  reqs = std::move(*runner->Accept("d1", V(4)));
  ASSERT_EQ(reqs.run.size(), 1u);
  EXPECT_EQ(Input(*reqs.run[0].request, "h_in"), (std::vector<double>{0, 0}));
}

TEST_F(ContractRunnerTest, ResponseForAnEvictedDeviceDoesNotLeakIntoItsNewEntry) {
  auto runner = Make(kStatefulYaml);
  for (double v : {1, 2, 3}) ASSERT_TRUE(runner->Accept("d1", V(v)).ok());
  ASSERT_EQ(runner->Accept("d1", V(4))->run.size(), 1u);  // in flight
  clock_.Advance(seconds(61));
  ASSERT_TRUE(runner->Accept("d1", V(1)).ok()) << "evicted, then known afresh";
  auto late = runner->Interpret("d1", Response(0.9, {9, 9}));
  EXPECT_TRUE(late.status.ok());
  for (double v : {2, 3}) ASSERT_TRUE(runner->Accept("d1", V(v)).ok());
  auto reqs = runner->Accept("d1", V(4));
  ASSERT_EQ(reqs->run.size(), 1u);
  EXPECT_EQ(Input(*reqs->run.front().request, "h_in"), (std::vector<double>{0, 0}));
}

TEST_F(ContractRunnerTest, MaxDevicesRefusesNewDevicesUntilOneIsIdle) {
  auto runner = Make(kStatefulYaml);
  ASSERT_TRUE(runner->Accept("a", V(1)).ok());
  clock_.Advance(seconds(30));
  ASSERT_TRUE(runner->Accept("b", V(1)).ok());
  auto refused = runner->Accept("c", V(1));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), core::StatusCode::kUnavailable);
  EXPECT_NE(refused.status().message().find("device 'c' refused: 2 devices are tracked"),
            std::string::npos);
  EXPECT_EQ(
      Metric("infergate_pipeline_telemetry_rejected_total{model=\"m\",reason=\"max_devices\"}"), 1);
  EXPECT_TRUE(runner->Accept("b", V(2)).ok()) << "known devices still get in";
  clock_.Advance(seconds(31));  // a idle for 61 s, b for 31 s
  EXPECT_TRUE(runner->Accept("c", V(1)).ok()) << "a was evicted";
  EXPECT_EQ(runner->device_count(), 2u);
}

TEST_F(ContractRunnerTest, BadTelemetryIsCountedAndChangesNothing) {
  auto runner = Make(kStatefulYaml);
  Telemetry bad;
  bad.fields["v"] = std::string("high");
  auto r = runner->Accept("d1", bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("field 'v'"), std::string::npos);
  EXPECT_EQ(runner->device_count(), 0u) << "a refused first message creates no device";
  EXPECT_EQ(
      Metric("infergate_pipeline_telemetry_rejected_total{model=\"m\",reason=\"wrong_type\"}"), 1);
  auto id = runner->DeviceId("", Telemetry{});
  EXPECT_FALSE(id.ok());
  EXPECT_EQ(
      Metric("infergate_pipeline_telemetry_rejected_total{model=\"m\",reason=\"no_device_id\"}"),
      1);
}

TEST_F(ContractRunnerTest, TimeWindowWithArrivalTimes) {
  auto runner = Make(kTimeWindowYaml);
  // No ts in the telemetry: the injected wall clock stamps each reading.
  EXPECT_TRUE(runner->Accept("d", V(1))->run.empty());
  wall_.Advance(seconds(2));
  EXPECT_TRUE(runner->Accept("d", V(3))->run.empty());
  wall_.Advance(seconds(1));
  EXPECT_TRUE(runner->Accept("d", V(4))->run.empty());
  wall_.Advance(seconds(1));
  auto reqs = runner->Accept("d", V(5));
  ASSERT_EQ(reqs->run.size(), 1u);
  EXPECT_EQ(Input(*reqs->run.front().request, "v"), (std::vector<double>{1, 1, 3, 4}));
  EXPECT_EQ(reqs->run.front().request->inputs[0].tensor.shape(), (core::Shape{4})) << "no batch dimension";
}

// Found by the telemetry_json fuzzer: a reading at t = 1.7e104 s made the
// time window count its slot as an int64, which overflowed (undefined
// behaviour). Times beyond +-1e11 s, and non-finite ones however they
// arrive, are refused naming the field; the device's window is unchanged.
TEST_F(ContractRunnerTest, ReadingTimesOutOfRangeAreRefused) {
  auto runner = Make(kTimeWindowYaml);
  ASSERT_TRUE(runner->Accept("d", At(1732540001.5, 1)).ok());
  for (double ts : {1.7e104, -1.7e104, 1.0000001e11}) {
    auto refused = runner->Accept("d", At(ts, 2));
    ASSERT_FALSE(refused.ok()) << ts;
    EXPECT_EQ(refused.status().code(), core::StatusCode::kInvalidArgument);
    EXPECT_NE(refused.status().message().find("field 'ts'"), std::string::npos)
        << refused.status().ToString();
  }
  Telemetry stamped = V(3);
  stamped.timestamp_secs = std::numeric_limits<double>::infinity();
  EXPECT_FALSE(runner->Accept("d", stamped).ok());
  EXPECT_EQ(runner->WindowProgress("d")->readings, 1);
  EXPECT_TRUE(runner->Accept("e", At(-1e11, 4)).ok()) << "the limit itself is a time";
}

TEST_F(ContractRunnerTest, TimestampedAndUnstampedReadingsShareOneTimeBase) {
  auto runner = Make(kTimeWindowYaml);
  // A device that stamps some readings (Unix time) and leaves others to the server.
  clock_.Advance(seconds(5));  // the steady clock is no time of day
  EXPECT_TRUE(runner->Accept("d", At(kNow, 1))->run.empty());
  wall_.Advance(seconds(1));
  auto unstamped = runner->Accept("d", V(2));
  ASSERT_TRUE(unstamped.ok()) << unstamped.status().ToString();
  EXPECT_TRUE(unstamped->run.empty());
  EXPECT_TRUE(runner->Accept("d", At(kNow + 2, 3))->run.empty());
  wall_.Advance(seconds(2));
  EXPECT_TRUE(runner->Accept("d", V(4))->run.empty());
  auto reqs = runner->Accept("d", At(kNow + 4, 5));
  ASSERT_TRUE(reqs.ok()) << reqs.status().ToString();
  ASSERT_EQ(reqs->run.size(), 1u);
  EXPECT_EQ(Input(*reqs->run.front().request, "v"), (std::vector<double>{1, 2, 3, 4}));
}

TEST_F(ContractRunnerTest, LateReadingIsCounted) {
  auto runner = Make(R"(
input: [{name: v, data_type: FP32, dims: [2]}]
output: [{name: score, data_type: FP32, dims: [1]}]
device:
  inputs: [{name: v, fields: [v]}]
  window: {count: 2}
)");
  EXPECT_TRUE(runner->Accept("d", At(10, 1))->run.empty());
  EXPECT_EQ(runner->Accept("d", At(11, 2))->run.size(), 1u);
  auto late = runner->Accept("d", At(5, 0));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(Metric("infergate_pipeline_telemetry_rejected_total{model=\"m\",reason=\"late\"}"), 1);
}

TEST_F(ContractRunnerTest, OnChangeTellsOnlyWhenTheLabelChanges) {
  auto runner = Make(testing::kClassifierYaml);
  auto probs = [](std::vector<double> p) {
    core::InferResponse r;
    r.outputs.push_back({"probs", ToTensor(core::DataType::kFp32, {1, 4}, p), {}});
    return r;
  };
  EXPECT_TRUE(runner->Interpret("d", probs({0.9, 0, 0, 0.1})).result.has_value())
      << "the first is sent";
  // Interpret for an unknown device still interprets; Accept creates the device.
  Telemetry t;
  t.fields["sensors.temp"] = 20.0;
  t.fields["rpm"] = 100.0;
  ASSERT_EQ(runner->Accept("d", t)->run.size(), 1u);
  EXPECT_TRUE(runner->Interpret("d", probs({0.9, 0, 0, 0.1})).result.has_value());
  EXPECT_FALSE(runner->Interpret("d", probs({0.8, 0.1, 0, 0.1})).result.has_value())
      << "still normal";
  auto changed = runner->Interpret("d", probs({0.1, 0.8, 0, 0.1}));
  ASSERT_TRUE(changed.result.has_value());
  EXPECT_EQ(changed.result->label, "bearing_wear");
  EXPECT_EQ(Metric("infergate_pipeline_results_total{model=\"m\",sent=\"false\"}"), 1);
}

TEST_F(ContractRunnerTest, MemoryPerDeviceGrowsWithDevices) {
  auto runner = Make(R"(
max_batch_size: 64
input: [{name: v, data_type: FP32, dims: [32]}]
output: [{name: score, data_type: FP32, dims: [1]}]
device:
  max_devices: 1000
  inputs: [{name: v, fields: [v]}]
  window: {count: 32}
)");
  for (int d = 0; d < 100; ++d) {
    for (int i = 0; i < 31; ++i) ASSERT_TRUE(runner->Accept("dev-" + std::to_string(d), V(i)).ok());
  }
  EXPECT_EQ(runner->device_count(), 100u);
  const double per_device = static_cast<double>(runner->memory_bytes()) / 100;
  // 31 readings of one value and their times: at least 2 * 31 doubles each.
  EXPECT_GE(per_device, 2 * 31 * sizeof(double));
  EXPECT_LT(per_device, 4096);
  EXPECT_EQ(Metric("infergate_pipeline_device_memory_bytes{model=\"m\"}"),
            static_cast<double>(runner->memory_bytes()));
  EXPECT_EQ(Metric("infergate_pipeline_devices{model=\"m\"}"), 100);
}

}  // namespace
}  // namespace infergate::pipeline

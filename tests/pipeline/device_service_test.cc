// DeviceService over a real repository and dispatcher: the fake backend's
// models, and a stateful one (a running sum) defined here.
#include "pipeline/device_service.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <fstream>
#include <mutex>

#include "core/dispatcher.h"
#include "core/status_map.h"
#include "pipeline/tensor_values.h"
#include "testing/fake_backend.h"
#include "testing/served_repository.h"
#include "testing/temp_dir.h"

namespace infergate::pipeline {
namespace {

using core::DataType;

// y = h + x[0] + x[1] per row, and h_out = y: a device's running sum of its readings.
class RunningSum : public core::ModelInstance {
 public:
  RunningSum() {
    sig_.inputs = {{"x", DataType::kFp32, {-1, 2}, {"", ""}, {}},
                   {"h", DataType::kFp32, {-1, 1}, {"", ""}, {}}};
    sig_.outputs = {{"y", DataType::kFp32, {-1, 1}, {"", ""}, {}},
                    {"h_out", DataType::kFp32, {-1, 1}, {"", ""}, {}}};
  }
  const core::ModelSignature& signature() const override { return sig_; }
  core::Status Run(const std::vector<core::InferInput>& inputs,
                   const std::vector<std::string>& output_names,
                   std::vector<core::InferOutput>* outputs) override {
    RETURN_IF_ERROR(core::ValidateInputs(sig_.inputs, inputs));
    const auto& x_in = inputs[0].name == "x" ? inputs[0] : inputs[1];
    const auto& h_in = inputs[0].name == "x" ? inputs[1] : inputs[0];
    ASSIGN_OR_RETURN(auto x, ToDoubles(x_in.tensor, "x"));
    ASSIGN_OR_RETURN(auto h, ToDoubles(h_in.tensor, "h"));
    std::vector<double> y(h.size());
    for (size_t r = 0; r < h.size(); ++r) y[r] = h[r] + x[2 * r] + x[2 * r + 1];
    const int64_t rows = static_cast<int64_t>(h.size());
    std::vector<std::string> names = output_names;
    if (names.empty()) names = {"y", "h_out"};
    for (const auto& n : names) outputs->push_back({n, ToTensor(DataType::kFp32, {rows, 1}, y), {}});
    return core::Status::Ok();
  }

 private:
  core::ModelSignature sig_;
};

// The fake backend, plus "RUNNING_SUM" files.
class TestBackend : public core::Backend {
 public:
  std::string_view name() const override { return "test"; }
  std::string version() const override { return "test 1"; }
  std::vector<std::string> file_extensions() const override { return {".onnx"}; }
  core::StatusOr<std::unique_ptr<core::ModelInstance>> Load(
      const std::filesystem::path& file, const core::RuntimeOptions& options) override {
    std::ifstream in(file);
    std::string first;
    in >> first;
    if (first == "RUNNING_SUM") return std::unique_ptr<core::ModelInstance>(new RunningSum());
    return fake_.Load(file, options);
  }

 private:
  ::infergate::testing::FakeBackend fake_;
};

// Submits to the dispatcher, or holds requests (hold = true) until Release.
class HoldingService : public core::InferenceService {
 public:
  explicit HoldingService(core::InferenceService* next) : next_(next) {}
  void Submit(std::unique_ptr<core::InferRequest> request) override {
    {
      std::lock_guard lock(mu_);
      if (hold) {
        held_.push_back(std::move(request));
        cv_.notify_all();
        return;
      }
    }
    next_->Submit(std::move(request));
  }
  // Waits (at most 10 s) until the i-th request is held, then submits it.
  void Release(size_t i) {
    std::unique_ptr<core::InferRequest> r;
    {
      std::unique_lock lock(mu_);
      if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return held_.size() > i; })) {
        ADD_FAILURE() << "request " << i << " was never submitted";
        return;
      }
      r = std::move(held_[i]);
    }
    next_->Submit(std::move(r));
  }
  void WaitHeld(size_t n) {
    std::unique_lock lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, std::chrono::seconds(10), [&] { return held_.size() >= n; }))
        << held_.size() << " of " << n << " requests held";
  }
  size_t held() {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  bool hold = false;  // set before submitting

 private:
  core::InferenceService* next_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<core::InferRequest>> held_;
};

// What the service told one message, and a wait for its OnDone.
class Recorder : public DeviceReplies {
 public:
  void OnDevice(const std::string& device, std::string* result_topic) override {
    std::lock_guard lock(mu_);
    device_ = device;
    if (!topic_template.empty()) *result_topic = topic_template + device;
  }
  void OnSubmit(size_t windows) override {
    std::lock_guard lock(mu_);
    submitted_ += windows;
  }
  void OnWindow(const std::string&, const WindowOutcome& outcome) override {
    std::lock_guard lock(mu_);
    ASSERT_EQ(done_calls_, 0) << "OnWindow after OnDone";
    windows_.push_back(outcome);
  }
  void OnDone(MessageOutcome outcome) override {
    std::lock_guard lock(mu_);
    ++done_calls_;
    done_ = std::move(outcome);
    cv_.notify_all();
  }
  MessageOutcome Wait() {
    std::unique_lock lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, std::chrono::seconds(10), [&] { return done_calls_ > 0; }));
    EXPECT_EQ(done_calls_, 1);
    return done_;
  }
  bool done() {
    std::lock_guard lock(mu_);
    return done_calls_ > 0;
  }
  std::string device() {
    std::lock_guard lock(mu_);
    return device_;
  }
  size_t submitted() {
    std::lock_guard lock(mu_);
    return submitted_;
  }
  std::vector<WindowOutcome> windows() {
    std::lock_guard lock(mu_);
    return windows_;
  }
  // Set before Submit: OnDevice sets the result topic to this + the device id.
  std::string topic_template;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string device_;
  size_t submitted_ = 0;
  std::vector<WindowOutcome> windows_;
  int done_calls_ = 0;
  MessageOutcome done_;
};

class DeviceServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // "dev": 4 readings of v are the scores of classes a..d; 2 devices at most.
    dir_.Write("dev/1/model.onnx", "FP32 x y -1 4");
    dir_.Write("dev/config.yaml",
               "max_batch_size: 8\ndevice: {max_devices: 2, inputs: [{name: x, fields: [v]}], "
               "window: {count: 4}, result: {labels: [a, b, c, d]}}\n");
    // "sum": windows of 2 readings, the device's running sum carried as state.
    dir_.Write("sum/1/model.onnx", "RUNNING_SUM");
    dir_.Write("sum/config.yaml",
               "max_batch_size: 8\ndevice: {inputs: [{name: x, fields: [v]}], window: {count: 2}, "
               "state: [{input: h, output: h_out}], result: {output: y, kind: score}}\n");
    // "sum1": "sum" with room for one waiting window per device.
    dir_.Write("sum1/1/model.onnx", "RUNNING_SUM");
    dir_.Write("sum1/config.yaml",
               "max_batch_size: 8\ndevice: {max_backlog: 1, inputs: [{name: x, fields: [v]}], "
               "window: {count: 2}, state: [{input: h, output: h_out}], "
               "result: {output: y, kind: score}}\n");
    // "chg": "dev" telling only label changes.
    dir_.Write("chg/1/model.onnx", "FP32 x y -1 4");
    dir_.Write("chg/config.yaml",
               "max_batch_size: 8\ndevice: {inputs: [{name: x, fields: [v]}], "
               "window: {count: 4}, result: {labels: [a, b, c, d], on: change}}\n");
    // "plain": no device section.
    dir_.Write("plain/1/model.onnx", "FP32 x y -1 4");
    auto repo = ::infergate::testing::MakeServedRepository(dir_.path(), &backend_);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
    dispatcher_ = std::make_unique<core::Dispatcher>(repo_.get(), &metrics_);
    contracts_ = std::make_unique<DeviceContracts>(repo_.get(),
                                                   ContractRunner::Options{&clock_, &metrics_});
    holding_ = std::make_unique<HoldingService>(dispatcher_.get());
    service_ = std::make_unique<DeviceService>(contracts_.get(), holding_.get());
    repo_->Poll();
  }

  std::shared_ptr<Recorder> Send(const std::string& model, const std::string& device,
                                 std::vector<double> v) {
    Telemetry t;
    if (v.size() == 1) {
      t.fields["v"] = v[0];
    } else {
      t.fields["v"] = std::move(v);
    }
    auto r = std::make_shared<Recorder>();
    service_->Submit(model, core::kLatestVersion, device, t, {}, r);
    return r;
  }

  ::infergate::testing::TempDir dir_;
  TestBackend backend_;
  core::MetricsRegistry metrics_;
  core::ManualClock clock_;
  std::unique_ptr<core::ModelRepository> repo_;
  std::unique_ptr<core::Dispatcher> dispatcher_;
  std::unique_ptr<DeviceContracts> contracts_;
  std::unique_ptr<HoldingService> holding_;
  std::unique_ptr<DeviceService> service_;
};

TEST_F(DeviceServiceTest, AFillingWindowIsDoneAtOnceWithItsProgress) {
  auto r = Send("dev", "pump-1", {1, 2, 3});
  ASSERT_TRUE(r->done()) << "reported inline";
  auto out = r->Wait();
  EXPECT_EQ(out.refusal, Refusal::kNone);
  EXPECT_TRUE(out.status.ok());
  EXPECT_EQ(out.device, "pump-1");
  EXPECT_EQ(out.windows, 0u);
  EXPECT_EQ(out.progress.readings, 3);
  EXPECT_EQ(out.progress.needed, 1);
  EXPECT_EQ(r->submitted(), 0u);
}

TEST_F(DeviceServiceTest, EveryWindowOneMessageCompletesIsRunAndReportedInOrder) {
  auto r = Send("dev", "pump-1", {1, 2, 3, 4, 9, 1, 1, 1, 0, 0, 7, 0});
  auto out = r->Wait();
  EXPECT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.windows, 3u);
  EXPECT_EQ(r->submitted(), 3u);
  EXPECT_EQ(r->windows().size(), 3u);
  ASSERT_EQ(out.results.size(), 3u);
  EXPECT_EQ(out.results[0].label, "d");
  EXPECT_EQ(out.results[1].label, "a");
  EXPECT_EQ(out.results[2].label, "c");
  EXPECT_EQ(out.results[0].device_id, "pump-1");
  EXPECT_EQ(out.on, core::DeviceResult::On::kAlways);
}

TEST_F(DeviceServiceTest, AWaitingWindowIsAnsweredToTheMessageWhoseReadingCompletedIt) {
  holding_->hold = true;
  auto first = Send("sum", "d", {1, 2});
  EXPECT_EQ(holding_->held(), 1u);
  // The device's window is in flight: the next one waits, and so does its message.
  auto second = Send("sum", "d", {3, 4});
  EXPECT_FALSE(second->done());
  EXPECT_EQ(second->submitted(), 0u) << "a waiting window holds no in-flight slot";
  EXPECT_EQ(holding_->held(), 1u);

  holding_->Release(0);  // runs; its completion submits the waiting window, for `second`
  auto out = first->Wait();
  EXPECT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.windows, 1u);
  EXPECT_EQ(first->submitted(), 1u);
  ASSERT_EQ(out.results.size(), 1u);
  EXPECT_EQ(out.results[0].score, 3);  // 0 + 1 + 2
  EXPECT_EQ(out.results[0].seq, 1) << "readings 0 and 1 of the device; 1 completed the window";
  EXPECT_GT(out.results[0].ts, 1e9) << "the arrival time, Unix seconds";

  holding_->Release(1);
  auto later = second->Wait();
  EXPECT_TRUE(later.status.ok()) << later.status.ToString();
  EXPECT_EQ(later.windows, 1u);
  EXPECT_EQ(second->submitted(), 1u);
  ASSERT_EQ(second->windows().size(), 1u);
  ASSERT_EQ(later.results.size(), 1u);
  EXPECT_EQ(later.results[0].score, 10);  // the state 3 carried, + 3 + 4
  EXPECT_EQ(later.results[0].seq, 3);
}

TEST_F(DeviceServiceTest, AWindowBeyondTheBacklogIsAnErrorToItsMessage) {
  holding_->hold = true;
  auto running = Send("sum1", "d1", {1, 2});
  auto waiting = Send("sum1", "d1", {3, 4});
  auto refused = Send("sum1", "d1", {5, 6});  // max_backlog: 1 window waits already
  ASSERT_TRUE(refused->done()) << "told at once";
  auto out = refused->Wait();
  EXPECT_EQ(out.refusal, Refusal::kNone) << "the message was taken; its window was not run";
  EXPECT_EQ(out.status.code(), core::StatusCode::kUnavailable) << out.status.ToString();
  EXPECT_NE(out.status.message().find("device 'd1': 1 windows already wait for model 'sum1' "
                                      "(device.max_backlog); window of reading 5 not run"),
            std::string::npos)
      << out.status.message();
  EXPECT_EQ(out.windows, 0u);
  EXPECT_EQ(refused->submitted(), 1u);
  ASSERT_EQ(refused->windows().size(), 1u) << "MQTT publishes the error from OnWindow";
  EXPECT_EQ(refused->windows()[0].status.code(), core::StatusCode::kUnavailable);
  EXPECT_NE(metrics_.RenderPrometheus().find(
                "infergate_pipeline_telemetry_rejected_total{model=\"sum1\",reason=\"backlog\"} 1"),
            std::string::npos);

  holding_->Release(0);
  holding_->Release(1);
  EXPECT_EQ(running->Wait().results.at(0).score, 3);
  auto second = waiting->Wait();
  ASSERT_EQ(second.results.size(), 1u) << "the window that waited still ran";
  EXPECT_EQ(second.results[0].seq, 3);
  EXPECT_EQ(second.results[0].score, 10);
  EXPECT_EQ(holding_->held(), 2u) << "the refused window never reached the model";
}

TEST_F(DeviceServiceTest, ResultsCarryTheSequenceNumberAndTimeTheDeviceSent) {
  Telemetry t;
  t.fields["v"] = std::vector<double>{1, 2, 3, 4, 9, 1, 1, 1};  // two windows of 4
  t.fields["seq"] = 100.0;
  t.fields["ts"] = 1234.5;
  auto r = std::make_shared<Recorder>();
  service_->Submit("dev", core::kLatestVersion, "d", t, {}, r);
  auto out = r->Wait();
  ASSERT_EQ(out.results.size(), 2u) << out.status.ToString();
  EXPECT_EQ(out.results[0].seq, 103);
  EXPECT_EQ(out.results[1].seq, 107);
  EXPECT_EQ(out.results[0].ts, 1234.5);

  // Without a seq field: the device's reading counter (8 readings so far).
  t.fields.erase("seq");
  t.fields["v"] = std::vector<double>{1, 2, 3, 4};
  auto counted = std::make_shared<Recorder>();
  service_->Submit("dev", core::kLatestVersion, "d", t, {}, counted);
  auto next = counted->Wait();
  ASSERT_EQ(next.results.size(), 1u);
  EXPECT_EQ(next.results[0].seq, 11);
}

TEST_F(DeviceServiceTest, AWaitingWindowDiscardedByAResetIsAnErrorToItsMessage) {
  holding_->hold = true;
  auto running = Send("sum", "d", {1, 2});
  auto waiting = Send("sum", "d", {3, 4});
  Telemetry reset;
  reset.fields["v"] = 1.0;
  reset.fields["reset"] = 1.0;
  auto resetting = std::make_shared<Recorder>();
  service_->Submit("sum", core::kLatestVersion, "d", reset, {}, resetting);
  auto out = waiting->Wait();
  EXPECT_EQ(out.status.code(), core::StatusCode::kCancelled) << out.status.ToString();
  EXPECT_NE(out.status.message().find("window of reading 3 not run"), std::string::npos);
  EXPECT_EQ(waiting->submitted(), 1u);
  holding_->Release(0);
  EXPECT_TRUE(running->Wait().status.ok());
}

TEST_F(DeviceServiceTest, AVersionUnloadedBetweenWindowsFailsTheNextWindow) {
  holding_->hold = true;
  auto first = Send("sum", "d", {1, 2});
  auto second = Send("sum", "d", {3, 4});  // waits behind the first
  holding_->Release(0);
  auto out = first->Wait();
  EXPECT_TRUE(out.status.ok()) << out.status.ToString();
  ASSERT_EQ(out.results.size(), 1u);
  EXPECT_EQ(out.results[0].score, 3);
  holding_->WaitHeld(2);  // the completion handed the next window out
  ASSERT_TRUE(repo_->Unload("sum").ok());
  holding_->Release(1);  // the dispatcher refuses it: the version is gone

  auto failed = second->Wait();
  EXPECT_EQ(failed.refusal, Refusal::kNone);
  EXPECT_EQ(failed.status.code(), core::StatusCode::kNotFound) << failed.status.ToString();
  EXPECT_EQ(failed.windows, 1u);
  EXPECT_TRUE(failed.results.empty());
  auto windows = second->windows();
  ASSERT_EQ(windows.size(), 1u);
  EXPECT_EQ(windows[0].status.code(), core::StatusCode::kNotFound);

  // A message after the unload is refused before anything runs.
  auto after = Send("sum", "d", {5, 6})->Wait();
  EXPECT_EQ(after.refusal, Refusal::kUnknownModel);
}

TEST_F(DeviceServiceTest, RefusalsCarryOneCodeForEveryFrontend) {
  auto unknown = Send("nope", "d", {1})->Wait();
  EXPECT_EQ(unknown.refusal, Refusal::kUnknownModel);
  EXPECT_EQ(unknown.status.code(), core::StatusCode::kNotFound);

  auto plain = Send("plain", "d", {1})->Wait();
  EXPECT_EQ(plain.refusal, Refusal::kNoDeviceContract);
  EXPECT_EQ(plain.status.code(), core::StatusCode::kFailedPrecondition);

  Telemetry wrong;
  wrong.fields["v"] = std::string("hot");
  auto bad = std::make_shared<Recorder>();
  service_->Submit("dev", core::kLatestVersion, "d", wrong, {}, bad);
  EXPECT_EQ(bad->Wait().refusal, Refusal::kInvalidTelemetry);
  EXPECT_EQ(bad->Wait().status.code(), core::StatusCode::kInvalidArgument);

  Send("dev", "a", {1})->Wait();
  Send("dev", "b", {1})->Wait();
  auto recorder = Send("dev", "c", {1});
  auto full = recorder->Wait();  // max_devices is 2
  EXPECT_EQ(full.refusal, Refusal::kDeviceLimit);
  EXPECT_EQ(full.device, "c");
  EXPECT_EQ(recorder->device(), "c");
  // A capacity refusal, retryable: 503 over HTTP, 151 (quota exceeded) over MQTT.
  EXPECT_EQ(full.status.code(), core::StatusCode::kUnavailable);
  EXPECT_EQ(core::HttpStatusFor(full.status.code()), 503);
  EXPECT_EQ(core::MqttReasonCodeFor(full.status.code()), 0x97);
  EXPECT_NE(full.status.message().find("max_devices"), std::string::npos);
}

// The result tap: what the edge uplink forwards.
class TapLog : public ResultObserver {
 public:
  void OnResult(const ResultEvent& event) override {
    std::lock_guard lock(mu_);
    seen.emplace_back(event.result.label + "@" + std::string(event.topic));
  }
  std::vector<std::string> Seen() {
    std::lock_guard lock(mu_);
    return seen;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> seen;
};

TEST_F(DeviceServiceTest, TheResultObserverSeesExactlyWhatTheOnRuleSendsWithItsTopic) {
  TapLog tap;
  service_->SetResultObserver(&tap);
  Telemetry t;
  // Windows labelled d, d, a, a, c: on change sends d, a and c.
  t.fields["v"] = std::vector<double>{1, 2, 3, 4, 0, 0, 0, 9, 9, 1, 1, 1, 5, 0, 0, 0, 0, 0, 9, 0};
  auto r = std::make_shared<Recorder>();
  DeviceService::SubmitOptions options;
  options.result_topic = "plant/p1/result";
  service_->Submit("chg", core::kLatestVersion, "p1", t, options, r);
  auto out = r->Wait();
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.windows, 5u);
  ASSERT_EQ(out.results.size(), 3u);
  EXPECT_EQ(tap.Seen(), (std::vector<std::string>{"d@plant/p1/result", "a@plant/p1/result", "c@plant/p1/result"}));

  // The frontend may name the topic once the device is known; no topic (HTTP): empty.
  auto named = std::make_shared<Recorder>();
  named->topic_template = "site/";
  t.fields["v"] = std::vector<double>{0, 7, 0, 0};
  service_->Submit("dev", core::kLatestVersion, "p2", t, {}, named);
  named->Wait();
  Send("dev", "p3", {0, 0, 7, 0})->Wait();
  EXPECT_EQ(tap.Seen().size(), 5u);
  EXPECT_EQ(tap.Seen().at(3), "b@site/p2");
  EXPECT_EQ(tap.Seen().at(4), "c@");

  // Refusals and failed windows are not results.
  Send("nope", "d", {1})->Wait();
  service_->SetResultObserver(nullptr);
  Send("dev", "p3", {0, 0, 7, 0})->Wait();
  EXPECT_EQ(tap.Seen().size(), 5u);
}

TEST_F(DeviceServiceTest, TheMessageDeadlineIsSetOnItsWindows) {
  holding_->hold = true;
  DeviceService::SubmitOptions options;
  options.deadline = clock_.Now() - std::chrono::seconds(1);  // already past
  Telemetry t;
  t.fields["v"] = std::vector<double>{1, 2, 3, 4};
  auto r = std::make_shared<Recorder>();
  service_->Submit("dev", core::kLatestVersion, "d", t, options, r);
  holding_->Release(0);
  auto out = r->Wait();
  EXPECT_EQ(out.status.code(), core::StatusCode::kDeadlineExceeded) << out.status.ToString();
}

}  // namespace
}  // namespace infergate::pipeline

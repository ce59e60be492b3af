#include "core/dispatcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "config/model_config_yaml.h"
#include "testing/fake_backend.h"
#include "testing/fake_instance.h"
#include "testing/temp_dir.h"

namespace infergate::core {
namespace {

using testing::FakeBackend;
using testing::ResponseSink;
using testing::TempDir;

// Records repository events so a test can wait for one.
class EventLog {
 public:
  void Add(const RepositoryEvent& e) {
    std::lock_guard lock(mu_);
    events_.push_back((e.kind == RepositoryEvent::Kind::kVersionReady ? "ready " : "removed ") +
                      std::to_string(e.version->version()));
    cv_.notify_all();
  }
  // Waits until `event` has happened `n` times.
  bool WaitForCount(const std::string& event, size_t n) {
    std::unique_lock lock(mu_);
    return testing::WaitFor(cv_, lock, [&] {
      return static_cast<size_t>(std::count(events_.begin(), events_.end(), event)) >= n;
    });
  }
  size_t Count(const std::string& event) {
    std::lock_guard lock(mu_);
    return static_cast<size_t>(std::count(events_.begin(), events_.end(), event));
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> events_;
};

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("m/config.yaml", "max_batch_size: 2\n");
    dir_.Write("m/1/model.onnx", "FP32 x y -1 4");
  }
  void TearDown() override { backend_.gate->Open(); }

  // Loads dir_ with a dispatcher on `clock` (default: clock_).
  void Load(const Clock* clock = nullptr) {
    ModelRepository::Options o;
    o.root = dir_.path();
    EXPECT_TRUE(o.backends.Add(&backend_).ok());
    o.parse_config = &config::ParseModelConfigFile;
    auto repo = ModelRepository::Create(std::move(o));
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
    dispatcher_ = std::make_unique<Dispatcher>(repo_.get(), &metrics_, clock ? clock : &clock_, &wall_);
    repo_->AddListener([this](const RepositoryEvent& e) { events_.Add(e); });
    repo_->Poll();
    ASSERT_TRUE(repo_->Get("m").ok()) << repo_->Get("m").status().ToString();
  }

  std::unique_ptr<InferRequest> Request(const std::string& id, Tensor x,
                                        std::vector<std::string> outputs = {},
                                        const std::string& input = "x") {
    auto r = std::make_unique<InferRequest>();
    r->model_name = "m";
    r->id = id;
    r->inputs.push_back({input, std::move(x), {}});
    for (auto& name : outputs) r->outputs.push_back({name, {}, {}});
    r->on_complete = sink_.Callback();
    return r;
  }

  static Tensor Rows(int64_t rows, float base) {
    std::vector<float> v(static_cast<size_t>(rows * 4));
    for (size_t i = 0; i < v.size(); ++i) v[i] = base + static_cast<float>(i);
    return Tensor::FromValues<float>(DataType::kFp32, {rows, 4}, v);
  }

  // Submits and expects an inline refusal with `code`; returns its message.
  std::string Refused(std::unique_ptr<InferRequest> r, StatusCode code) {
    const std::string id = r->id;
    dispatcher_->Submit(std::move(r));
    const InferResponse* response = sink_.Get(id);  // inline: no waiting
    if (!response) {
      ADD_FAILURE() << id << " was not answered at once";
      return "";
    }
    EXPECT_EQ(response->status.code(), code) << response->status.ToString();
    return response->status.message();
  }

  // Requests queued on a version that is swapped out still run on it; new
  // ones go to its successor. The swap writes `file` (a new version folder, or
  // the current version's file for a reload).
  void SwapWhileQueued(const std::string& file, int64_t new_version) {
    backend_.gate->Close();
    for (int i = 0; i < 5; ++i) {
      auto x = Tensor::FromValues<float>(DataType::kFp32, {1, 4}, {1, 2, 3, static_cast<float>(i)});
      dispatcher_->Submit(Request("old" + std::to_string(i), x));
    }
    ASSERT_TRUE(backend_.gate->WaitForWaiting(1));  // old0 runs, old1..old4 are queued
    const std::string ready = "ready " + std::to_string(new_version);
    const size_t ready_before = events_.Count(ready);

    dir_.Write(file, "FP32 x y -1 4 ");      // one byte longer: the repository sees a change
    std::thread poll([&] { repo_->Poll(); });  // blocks while the old version drains
    ASSERT_TRUE(events_.WaitForCount(ready, ready_before + 1));
    backend_.gate->Open();
    poll.join();

    ASSERT_TRUE(sink_.WaitForCount(5));
    for (int i = 0; i < 5; ++i) {
      const InferResponse* r = sink_.Get("old" + std::to_string(i));
      ASSERT_NE(r, nullptr);
      ASSERT_TRUE(r->status.ok()) << r->status.ToString();
      EXPECT_EQ(r->model_version, 1);
      EXPECT_EQ(r->outputs[0].tensor.As<float>()[3], static_cast<float>(i));
    }
    EXPECT_EQ(events_.Count("removed 1"), 1u);
    dispatcher_->Submit(Request("new", Rows(1, 5)));
    const InferResponse* r = sink_.WaitForResponse("new");
    ASSERT_NE(r, nullptr);
    EXPECT_TRUE(r->status.ok()) << r->status.ToString();
    EXPECT_EQ(r->model_version, new_version);
    EXPECT_EQ(sink_.count(), 6u);  // each answered exactly once
  }

  bool HasLine(const std::string& line) {
    return ("\n" + metrics_.RenderPrometheus()).find("\n" + line + "\n") != std::string::npos;
  }

  TempDir dir_;
  FakeBackend backend_;
  MetricsRegistry metrics_;
  ManualClock clock_{TimePoint{} + std::chrono::hours(1)};
  ManualWallClock wall_{WallTime(std::chrono::milliseconds(1'700'000'000'000))};
  ResponseSink sink_;
  EventLog events_;
  std::unique_ptr<ModelRepository> repo_;
  std::unique_ptr<Dispatcher> dispatcher_;  // last: drains into the members above
};

TEST_F(DispatcherTest, UnknownModelIsNotFound) {
  Load();
  auto r = Request("r", Rows(1, 0));
  r->model_name = "nope";
  EXPECT_NE(Refused(std::move(r), StatusCode::kNotFound).find("'nope'"), std::string::npos);
  EXPECT_TRUE(HasLine(R"(infergate_requests_refused_total{code="NOT_FOUND"} 1)"));
}

TEST_F(DispatcherTest, BadInputsAreRefusedNamingTheInput) {
  Load();
  auto wrong_type = Request("type", Tensor::FromValues<int32_t>(DataType::kInt32, {1, 4}, {1, 2, 3, 4}));
  std::string message = Refused(std::move(wrong_type), StatusCode::kInvalidArgument);
  EXPECT_NE(message.find("input 'x'"), std::string::npos) << message;

  auto wrong_shape = Request("shape", Tensor::FromValues<float>(DataType::kFp32, {1, 3}, {1, 2, 3}));
  message = Refused(std::move(wrong_shape), StatusCode::kInvalidArgument);
  EXPECT_NE(message.find("input 'x'"), std::string::npos) << message;

  auto unknown = Request("unknown", Rows(1, 0), {}, "w");
  message = Refused(std::move(unknown), StatusCode::kInvalidArgument);
  EXPECT_NE(message.find("'w'"), std::string::npos) << message;
  EXPECT_EQ(backend_.loads.load(), 1);
}

TEST_F(DispatcherTest, ABatchAboveMaxBatchSizeIsRefused) {
  Load();
  std::string message = Refused(Request("big", Rows(3, 0)), StatusCode::kInvalidArgument);
  EXPECT_NE(message.find("max_batch_size 2"), std::string::npos) << message;
}

TEST_F(DispatcherTest, AnUnknownOutputIsRefused) {
  Load();
  std::string message = Refused(Request("r", Rows(1, 0), {"nope"}), StatusCode::kInvalidArgument);
  EXPECT_NE(message.find("unknown output 'nope'"), std::string::npos) << message;
  EXPECT_TRUE(HasLine(R"(infergate_requests_refused_total{code="INVALID_ARGUMENT"} 1)"));
}

TEST_F(DispatcherTest, RunsARequestAndCountsIt) {
  Load();
  const Tensor x = Rows(2, 1);
  dispatcher_->Submit(Request("ok", x, {"y"}));
  const InferResponse* r = sink_.WaitForResponse("ok");
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->status.ok()) << r->status.ToString();
  EXPECT_EQ(r->model_name, "m");
  EXPECT_EQ(r->model_version, 1);
  ASSERT_EQ(r->outputs.size(), 1u);
  EXPECT_EQ(r->outputs[0].name, "y");
  EXPECT_EQ(r->outputs[0].tensor.shape(), (Shape{2, 4}));
  EXPECT_EQ(std::vector<float>(r->outputs[0].tensor.As<float>().begin(), r->outputs[0].tensor.As<float>().end()),
            std::vector<float>(x.As<float>().begin(), x.As<float>().end()));

  const std::string labels = R"(model="m",version="1")";
  EXPECT_TRUE(HasLine("infergate_inference_requests_total{" + labels + R"(,outcome="success"} 1)"));
  EXPECT_TRUE(HasLine("infergate_inference_requests_total{" + labels + R"(,outcome="failure"} 0)"));
  EXPECT_TRUE(HasLine("infergate_inference_request_duration_seconds_count{" + labels + "} 1"));
  EXPECT_TRUE(HasLine("infergate_inference_in_flight{" + labels + "} 0"));
  EXPECT_TRUE(HasLine("infergate_inference_executions_total{" + labels + "} 1"));
  EXPECT_TRUE(HasLine("infergate_inference_batch_size_sum{" + labels + "} 2"));
  EXPECT_TRUE(HasLine("infergate_inference_queue_duration_seconds_count{" + labels + "} 1"));
}

TEST_F(DispatcherTest, ANewVersionWhileRequestsAreQueuedLosesNone) {
  Load();
  SwapWhileQueued("m/2/model.onnx", 2);
}

TEST_F(DispatcherTest, AReloadWhileRequestsAreQueuedLosesNone) {
  Load();
  SwapWhileQueued("m/1/model.onnx", 1);
}

// N requests of batch 1 and M of batch 2: the statistics count requests,
// rows and runs as Triton does, and /metrics shows the same counters.
TEST_F(DispatcherTest, KeepsStatisticsAFrontendCanSnapshot) {
  Load();
  int n = 0;
  auto run = [&](int64_t rows) {
    const std::string id = "r" + std::to_string(n++);
    dispatcher_->Submit(Request(id, Rows(rows, 0)));
    const InferResponse* r = sink_.WaitForResponse(id);
    ASSERT_NE(r, nullptr);
    ASSERT_TRUE(r->status.ok()) << r->status.ToString();
  };
  run(1);
  run(1);
  wall_.Set(WallTime(std::chrono::milliseconds(1'700'000'000'500)));
  run(2);
  Refused(Request("bad", Rows(1, 0), {}, "nope"), StatusCode::kInvalidArgument);

  auto s = dispatcher_->Snapshot("m", 1);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->success.count, 3u);
  EXPECT_EQ(s->fail.count, 1u);  // a request refused by its version's checks
  EXPECT_EQ(s->inference_count, 4u);
  EXPECT_EQ(s->execution_count, 3u);
  EXPECT_EQ(s->queue.count, 3u);
  EXPECT_EQ(s->compute_input.count, 3u);
  EXPECT_EQ(s->compute_infer.count, 3u);
  EXPECT_EQ(s->compute_output.count, 3u);
  EXPECT_EQ(s->last_inference_ms, 1'700'000'000'500u);
  ASSERT_EQ(s->batch_stats.size(), 2u);
  EXPECT_EQ(s->batch_stats[0].compute_infer.count, 2u);  // batch size 1
  EXPECT_EQ(s->batch_stats[1].compute_infer.count, 1u);  // batch size 2

  const std::string labels = R"(model="m",version="1")";
  EXPECT_TRUE(HasLine("infergate_inference_requests_total{" + labels + R"(,outcome="success"} 3)"));
  EXPECT_TRUE(HasLine("infergate_inference_requests_total{" + labels + R"(,outcome="failure"} 1)"));
  EXPECT_TRUE(HasLine("infergate_inference_count_total{" + labels + "} 4"));
  EXPECT_EQ(dispatcher_->Snapshot("m", 7).status().code(), StatusCode::kNotFound);
}

// A clock whose Now() runs a hook once, on the thread that armed it.
class HookClock final : public Clock {
 public:
  TimePoint Now() const override {
    std::function<void()> hook;
    {
      std::lock_guard lock(mu_);
      if (hook_ && std::this_thread::get_id() == hook_thread_) hook.swap(hook_);
    }
    if (hook) hook();
    return clock_.Now();
  }
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) const override {
    clock_.WaitUntil(cv, lock, deadline);
  }
  void ArmOnThisThread(std::function<void()> hook) {
    std::lock_guard lock(mu_);
    hook_ = std::move(hook);
    hook_thread_ = std::this_thread::get_id();
  }

 private:
  ManualClock clock_{TimePoint{} + std::chrono::hours(1)};
  mutable std::mutex mu_;
  mutable std::function<void()> hook_;
  std::thread::id hook_thread_;
};

// A completion callback (a scheduler thread) submits the next request while
// the version is unloaded: that Submit then holds the last reference to the
// version's scheduler, whose destruction must not run on (and join) that
// scheduler's own thread.
TEST_F(DispatcherTest, ASubmitFromACompletionSurvivesAnUnloadOfItsVersion) {
  HookClock clock;
  Load(&clock);

  auto next = Request("next", Rows(1, 2));
  next->arrival = clock.Now();  // so the first Now() of its Submit is in the enqueue
  auto first = Request("first", Rows(1, 1));
  ResponseCallback record = first->on_complete;
  first->on_complete = [&, record](std::unique_ptr<InferResponse> r) {
    // Inside the enqueue of `next`, after Submit took its scheduler: unload.
    clock.ArmOnThisThread([&] {
      std::thread unload([&] { EXPECT_TRUE(repo_->Unload("m").ok()); });
      unload.join();
    });
    dispatcher_->Submit(std::move(next));
    record(std::move(r));
  };
  backend_.gate->Close();  // `first` runs only once this Submit has returned
  dispatcher_->Submit(std::move(first));
  ASSERT_TRUE(backend_.gate->WaitForWaiting(1));
  backend_.gate->Open();
  ASSERT_TRUE(sink_.WaitForCount(2));
  EXPECT_TRUE(sink_.Get("first")->status.ok()) << sink_.Get("first")->status.ToString();
  // Enqueued before the scheduler drained: it ran on the unloaded version.
  EXPECT_TRUE(sink_.Get("next")->status.ok()) << sink_.Get("next")->status.ToString();
  EXPECT_FALSE(repo_->Get("m").ok());
  dispatcher_.reset();  // before `clock`
}

}  // namespace
}  // namespace infergate::core

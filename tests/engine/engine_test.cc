// The engine without any frontend: its repository API (one policy, one
// bounded worker), readiness, and the shutdown that answers what is queued
// and refuses what comes later. The fake backend stands in for ONNX Runtime.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "config/model_config_yaml.h"
#include "engine/model_control.h"
#include "engine/worker.h"
#include "testing/fake_backend.h"
#include "testing/fake_instance.h"
#include "testing/gate.h"
#include "testing/served_repository.h"
#include "testing/temp_dir.h"

namespace infergate::engine {
namespace {

using testing::FakeBackend;

std::unique_ptr<core::InferRequest> Request(const std::string& id, testing::ResponseSink* sink) {
  auto r = std::make_unique<core::InferRequest>();
  r->model_name = "m";
  r->id = id;
  r->inputs.push_back({"x", core::Tensor::FromValues<float>(core::DataType::kFp32, {1, 4}, {1, 2, 3, 4}), {}});
  r->on_complete = sink->Callback();
  return r;
}

TEST(WorkerTest, RunsJobsInOrderAndRefusesBeyondItsBound) {
  testing::Gate gate;
  gate.Close();
  Worker worker(2);
  std::mutex mu;
  std::vector<int> ran;
  ASSERT_TRUE(worker.Post([&] { gate.Pass(); }));
  ASSERT_TRUE(gate.WaitForWaiting(1));  // the first job runs and holds the thread
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(worker.Post([&, i] {
      std::lock_guard lock(mu);
      ran.push_back(i);
    }));
  }
  EXPECT_FALSE(worker.Post([] {})) << "a third waiting job is over the bound";
  gate.Open();
  worker.Stop();  // runs what is queued, then joins
  EXPECT_EQ(ran, (std::vector<int>{0, 1}));
  EXPECT_FALSE(worker.Post([] {})) << "a stopped worker takes nothing";
}

class ModelControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("m/1/model.onnx", "FP32 x y -1 4");
    auto repo = testing::MakeServedRepository(dir_.path(), &backend_);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
    repo_->Poll();
  }

  // Runs `op` and waits for its status, with the thread that reported it.
  std::pair<core::Status, std::thread::id> Run(ModelControl& control, bool load, const std::string& model) {
    std::promise<std::pair<core::Status, std::thread::id>> done;
    auto report = [&done](core::Status st) { done.set_value({std::move(st), std::this_thread::get_id()}); };
    core::Status queued = load ? control.Load(model, report) : control.Unload(model, report);
    if (!queued.ok()) return {queued, std::this_thread::get_id()};
    auto f = done.get_future();
    EXPECT_EQ(f.wait_for(testing::kTestTimeout), std::future_status::ready);
    return f.get();
  }

  testing::TempDir dir_;
  FakeBackend backend_;
  std::unique_ptr<core::ModelRepository> repo_;
};

TEST_F(ModelControlTest, RunsLoadsAndUnloadsOnItsOwnThread) {
  ModelControl control(repo_.get(), ModelControlPolicy{});
  auto [unloaded, unload_thread] = Run(control, false, "m");
  EXPECT_TRUE(unloaded.ok()) << unloaded.ToString();
  EXPECT_NE(unload_thread, std::this_thread::get_id());
  EXPECT_FALSE(repo_->Get("m").ok());
  auto [loaded, load_thread] = Run(control, true, "m");
  EXPECT_TRUE(loaded.ok()) << loaded.ToString();
  EXPECT_EQ(load_thread, unload_thread);  // one worker for every request
  EXPECT_TRUE(repo_->Get("m").ok());
  EXPECT_EQ(Run(control, true, "nosuch").first.code(), core::StatusCode::kNotFound);
  EXPECT_EQ(Run(control, true, "").first.code(), core::StatusCode::kInvalidArgument);
}

TEST_F(ModelControlTest, ThePolicyRefusesBeforeAnythingIsQueued) {
  ModelControl control(repo_.get(), ModelControlPolicy{.allow_load_unload = false});
  bool called = false;
  core::Status st = control.Unload("m", [&](core::Status) { called = true; });
  EXPECT_EQ(st.code(), core::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("model_control_mode: none"), std::string::npos) << st.message();
  control.Stop();
  EXPECT_FALSE(called);
  EXPECT_TRUE(repo_->Get("m").ok());
}

// A name that cannot be a model folder is refused before it is queued: the
// worker never runs, and the reason names the problem with the byte escaped.
TEST_F(ModelControlTest, RefusesInvalidNamesBeforeQueueing) {
  ModelControl control(repo_.get(), ModelControlPolicy{});
  const size_t known = repo_->Index().size();
  bool called = false;
  for (const std::string& name : {std::string("m\0x", 3), std::string("a/b"), std::string(".."),
                                  std::string(300, 'm')}) {
    core::Status load = control.Load(name, [&](core::Status) { called = true; });
    EXPECT_EQ(load.code(), core::StatusCode::kInvalidArgument) << load.ToString();
    core::Status unload = control.Unload(name, [&](core::Status) { called = true; });
    EXPECT_EQ(unload.code(), core::StatusCode::kInvalidArgument) << unload.ToString();
  }
  EXPECT_NE(control.Load(std::string("m\0x", 3), [](core::Status) {}).message().find("\\x00"),
            std::string::npos);
  control.Stop();
  EXPECT_FALSE(called);
  EXPECT_EQ(repo_->Index().size(), known);
  EXPECT_TRUE(repo_->Get("m").ok());
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("m/config.yaml", "max_batch_size: 4\n");
    dir_.Write("m/1/model.onnx", "FP32 x y -1 4");
    auto backend = std::make_unique<FakeBackend>();
    backend_ = backend.get();
    EngineOptions o;
    o.model_repository = dir_.path();
    o.backends.push_back(std::move(backend));
    o.parse_config = &config::ParseModelConfigFile;
    auto engine = Engine::Create(std::move(o));
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    engine_ = std::move(*engine);
    ASSERT_TRUE(engine_->Start().ok());
  }
  void TearDown() override { backend_->gate->Open(); }

  testing::TempDir dir_;
  FakeBackend* backend_ = nullptr;
  std::unique_ptr<Engine> engine_;
  testing::ResponseSink sink_;
};

TEST_F(EngineTest, ReadinessIsWhatTheServerSays) {
  EXPECT_FALSE(engine_->ready());
  engine_->SetReady(true);
  EXPECT_TRUE(engine_->ready_flag()->load());
  engine_->Stop();
  EXPECT_FALSE(engine_->ready());
}

TEST_F(EngineTest, StopAnswersWhatIsInFlightAndRefusesWhatComesLater) {
  backend_->gate->Close();
  engine_->inference().Submit(Request("held", &sink_));
  ASSERT_TRUE(backend_->gate->WaitForWaiting(1));
  std::thread stopper([this] { engine_->Stop(); });
  backend_->gate->Open();
  stopper.join();
  const core::InferResponse* held = sink_.WaitForResponse("held");
  ASSERT_NE(held, nullptr);
  EXPECT_TRUE(held->status.ok()) << held->status.ToString();
  engine_->inference().Submit(Request("late", &sink_));
  const core::InferResponse* late = sink_.WaitForResponse("late");
  ASSERT_NE(late, nullptr);
  EXPECT_EQ(late->status.code(), core::StatusCode::kUnavailable);
  EXPECT_NE(late->status.message().find("shutting down"), std::string::npos) << late->status.message();
}

TEST_F(EngineTest, StatisticsAreServedForLoadedVersions) {
  engine_->inference().Submit(Request("a", &sink_));
  ASSERT_NE(sink_.WaitForResponse("a"), nullptr);
  auto snapshot = engine_->statistics().Snapshot("m", 1);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  EXPECT_EQ(engine_->statistics().Snapshot("nosuch", 1).status().code(), core::StatusCode::kNotFound);
}

}  // namespace
}  // namespace infergate::engine

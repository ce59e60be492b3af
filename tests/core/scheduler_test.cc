#include "core/scheduler.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "core/batch_assembly.h"
#include "testing/fake_instance.h"

namespace infergate::core {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using testing::Doubled;
using testing::RecordingInstance;
using testing::ResponseSink;
using testing::RunLog;

// The model a test schedules for: config and instances in one place.
struct ModelSetup {
  DataType dtype = DataType::kFp32;
  Shape dims = {2};  // per request, after the batch dimension
  int64_t max_batch_size = 8;
  bool dynamic_batching = true;
  std::vector<int64_t> preferred{};
  int64_t delay_us = 0;
  int64_t max_queue_size = 0;
  int64_t default_timeout_us = 0;
  int instances = 1;
};

constexpr int64_t kVersion = 3;

ModelConfig MakeConfig(const ModelSetup& s) {
  ModelConfig config;
  config.name = "m";
  config.max_batch_size = s.max_batch_size;
  config.instance_count = s.instances;
  config.has_dynamic_batching = s.dynamic_batching;
  config.dynamic_batching.preferred_batch_size = s.preferred;
  config.dynamic_batching.max_queue_delay_microseconds = s.delay_us;
  config.dynamic_batching.max_queue_size = s.max_queue_size;
  config.dynamic_batching.default_timeout_microseconds = s.default_timeout_us;
  config.inputs = {{"x", s.dtype, s.dims}};
  config.outputs = {{"y", s.dtype, s.dims}, {"z", s.dtype, s.dims}};
  return config;
}

// A tensor of `rows` rows of `cols` elements numbered from `base`, in any
// datatype, so requests are told apart by their values.
Tensor Numbered(DataType dtype, int64_t rows, int base, int64_t cols = 2) {
  const int64_t n = rows * cols;
  if (dtype == DataType::kBytes) {
    std::vector<std::string> strings;
    for (int64_t i = 0; i < n; ++i) {
      const int k = base + static_cast<int>(i);
      strings.push_back(std::string(static_cast<size_t>(k % 3), 'b') + std::to_string(k));
    }
    strings.front() = "";  // an empty element, too
    return Tensor::FromStrings(strings, {rows, cols});
  }
  const size_t size = ElementSize(dtype);
  std::vector<uint8_t> bytes(static_cast<size_t>(n) * size);
  for (int64_t i = 0; i < n; ++i) {
    const int k = base + static_cast<int>(i);
    uint8_t* at = bytes.data() + i * size;
    switch (dtype) {
      case DataType::kBool: *at = static_cast<uint8_t>(k % 2); break;
      case DataType::kFp16: {
        uint16_t bits = static_cast<uint16_t>(0x3C00 + k);  // 1 + k/1024
        std::memcpy(at, &bits, 2);
        break;
      }
      case DataType::kBf16: {
        uint16_t bits = static_cast<uint16_t>(0x3F80 + k);  // 1 + k/128
        std::memcpy(at, &bits, 2);
        break;
      }
      case DataType::kFp32: {
        float v = static_cast<float>(k) + 0.5f;
        std::memcpy(at, &v, 4);
        break;
      }
      case DataType::kFp64: {
        double v = k + 0.25;
        std::memcpy(at, &v, 8);
        break;
      }
      default: {
        int64_t v = k;  // little-endian: the low bytes carry the value
        std::memcpy(at, &v, size);
      }
    }
  }
  return Tensor::FromBytes(dtype, {rows, cols}, std::move(bytes));
}

std::vector<uint8_t> Bytes(const Tensor& t) { return {t.bytes().begin(), t.bytes().end()}; }

const InferOutput* Find(const InferResponse& r, const std::string& name) {
  for (const auto& out : r.outputs) {
    if (out.name == name) return &out;
  }
  return nullptr;
}

// The response holds y = Doubled(x) and z = x, with x's shape.
void ExpectComputedFrom(const InferResponse* r, const Tensor& x) {
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->status.ok()) << r->status.ToString();
  const InferOutput* y = Find(*r, "y");
  const InferOutput* z = Find(*r, "z");
  ASSERT_NE(y, nullptr);
  ASSERT_NE(z, nullptr);
  EXPECT_EQ(y->tensor.dtype(), x.dtype());
  EXPECT_EQ(y->tensor.shape(), x.shape());
  EXPECT_EQ(Bytes(y->tensor), Bytes(Doubled(x))) << r->id << " " << DataTypeName(x.dtype());
  EXPECT_EQ(z->tensor.shape(), x.shape());
  EXPECT_EQ(Bytes(z->tensor), Bytes(x)) << r->id << " " << DataTypeName(x.dtype());
  EXPECT_TRUE(y->tensor.Validate("y").ok());
}

class SchedulerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    log_->gate().Open();  // a failed test must not leave the drain waiting
    scheduler_.reset();
  }

  void Start(const ModelSetup& setup) {
    ASSERT_TRUE(Make(setup).ok());
  }

  Status Make(const ModelSetup& setup) {
    if (scheduler_) {
      log_->gate().Open();
      scheduler_.reset();
    }
    log_ = std::make_shared<RunLog>();
    Shape x_shape = setup.dims;
    if (setup.max_batch_size > 0) x_shape.insert(x_shape.begin(), kDynamicDim);
    std::vector<std::unique_ptr<ModelInstance>> instances;
    for (int i = 0; i < setup.instances; ++i) {
      instances.push_back(std::make_unique<RecordingInstance>(setup.dtype, x_shape, log_));
    }
    version_ = std::make_shared<const ModelVersion>(MakeConfig(setup), kVersion, "m/3/model.onnx",
                                                    std::move(instances));
    statistics_ = std::make_shared<VersionStatistics>(&metrics_, "m", kVersion, &wall_);
    auto scheduler = Scheduler::Create(version_, SchedulerOptions{&clock_, &metrics_, statistics_});
    if (!scheduler.ok()) return scheduler.status();
    scheduler_ = std::move(*scheduler);
    return Status::Ok();
  }

  std::unique_ptr<InferRequest> Request(const std::string& id, Tensor x,
                                        std::vector<std::string> outputs = {}) {
    auto r = std::make_unique<InferRequest>();
    r->model_name = "m";
    r->id = id;
    r->inputs.push_back({"x", std::move(x), {}});
    for (auto& name : outputs) r->outputs.push_back({name, {}, {}});
    r->on_complete = sink_.Callback();
    return r;
  }

  // Enqueues and expects OK.
  void Add(const std::string& id, Tensor x, std::vector<std::string> outputs = {}) {
    auto r = Request(id, std::move(x), std::move(outputs));
    Status st = scheduler_->Enqueue(r);
    ASSERT_TRUE(st.ok()) << id << ": " << st.ToString();
    EXPECT_EQ(r, nullptr);
  }

  void Advance(Duration d) {
    clock_.Advance(d);
    scheduler_->Wake();
  }

  bool HasLine(const std::string& line) {
    return ("\n" + metrics_.RenderPrometheus()).find("\n" + line + "\n") != std::string::npos;
  }

  ManualClock clock_{TimePoint{} + std::chrono::hours(1)};
  ManualWallClock wall_{WallTime(std::chrono::milliseconds(1'700'000'000'000))};
  MetricsRegistry metrics_;
  std::shared_ptr<VersionStatistics> statistics_;
  ResponseSink sink_;
  std::shared_ptr<RunLog> log_ = std::make_shared<RunLog>();
  std::shared_ptr<const ModelVersion> version_;
  std::unique_ptr<Scheduler> scheduler_;  // last: drains into the members above
};

TEST_F(SchedulerTest, SendsABatchWhenItReachesMaxBatchSize) {
  Start({.max_batch_size = 4, .delay_us = 1'000'000});
  const Tensor a = Numbered(DataType::kFp32, 1, 0), b = Numbered(DataType::kFp32, 2, 10),
               c = Numbered(DataType::kFp32, 1, 20);
  Add("a", a);
  Add("b", b);
  EXPECT_EQ(scheduler_->queued(), 2u);
  EXPECT_TRUE(log_->runs().empty());
  Add("c", c);  // 4 rows: full, sent without waiting for the delay
  EXPECT_EQ(scheduler_->queued(), 0u);
  ASSERT_TRUE(sink_.WaitForCount(3));
  EXPECT_EQ(log_->rows(), std::vector<int64_t>{4});

  // One run over a, b, c joined in arrival order.
  std::vector<uint8_t> joined = Bytes(a);
  for (const Tensor* t : {&b, &c}) joined.insert(joined.end(), t->bytes().begin(), t->bytes().end());
  EXPECT_EQ(Bytes(log_->runs()[0].inputs[0].tensor), joined);
  ExpectComputedFrom(sink_.Get("a"), a);
  ExpectComputedFrom(sink_.Get("b"), b);
  ExpectComputedFrom(sink_.Get("c"), c);
  // The outputs are views of one batch output, not copies.
  const Tensor& ya = Find(*sink_.Get("a"), "y")->tensor;
  const Tensor& yb = Find(*sink_.Get("b"), "y")->tensor;
  EXPECT_EQ(yb.data(), ya.data() + ya.byte_size());
}

TEST_F(SchedulerTest, ARequestThatDoesNotFitClosesTheBatch) {
  Start({.max_batch_size = 4, .delay_us = 1'000'000});
  Add("a", Numbered(DataType::kFp32, 3, 0));
  EXPECT_EQ(scheduler_->queued(), 1u);
  Add("b", Numbered(DataType::kFp32, 2, 10));  // 3 + 2 > 4: a goes alone, now
  EXPECT_EQ(scheduler_->queued(), 1u);
  ASSERT_TRUE(log_->WaitForFinished(1));
  EXPECT_EQ(log_->rows(), std::vector<int64_t>{3});
  EXPECT_EQ(scheduler_->queued(), 1u);  // b waits for its delay
  Advance(microseconds(1'000'000));
  ASSERT_TRUE(sink_.WaitForCount(2));
  EXPECT_EQ(log_->rows(), (std::vector<int64_t>{3, 2}));
}

TEST_F(SchedulerTest, SendsAPartialBatchWhenTheOldestRequestHasWaitedTheDelay) {
  Start({.max_batch_size = 8, .delay_us = 100});
  for (int i = 0; i < 3; ++i) Add("r" + std::to_string(i), Numbered(DataType::kFp32, 1, i * 10));
  Advance(microseconds(99));
  EXPECT_EQ(scheduler_->queued(), 3u);
  EXPECT_TRUE(log_->runs().empty());
  Advance(microseconds(1));
  EXPECT_EQ(scheduler_->queued(), 0u);
  ASSERT_TRUE(sink_.WaitForCount(3));
  EXPECT_EQ(log_->rows(), std::vector<int64_t>{3});
  for (int i = 0; i < 3; ++i) {
    const InferResponse* r = sink_.Get("r" + std::to_string(i));
    ExpectComputedFrom(r, Numbered(DataType::kFp32, 1, i * 10));
    EXPECT_EQ(r->queue_time, microseconds(100));
  }

  // The delay counts from the oldest request of the batch.
  Add("d", Numbered(DataType::kFp32, 1, 100));
  Advance(microseconds(60));
  Add("e", Numbered(DataType::kFp32, 1, 110));
  EXPECT_EQ(scheduler_->queued(), 2u);
  Advance(microseconds(40));
  ASSERT_TRUE(sink_.WaitForCount(5));
  EXPECT_EQ(log_->rows(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(sink_.Get("d")->queue_time, microseconds(100));
  EXPECT_EQ(sink_.Get("e")->queue_time, microseconds(40));
}

TEST_F(SchedulerTest, ZeroDelayRunsWhatIsThere) {
  Start({.max_batch_size = 8, .delay_us = 0});
  log_->gate().Close();
  Add("a", Numbered(DataType::kFp32, 1, 0));  // runs at once, held
  ASSERT_TRUE(log_->gate().WaitForWaiting(1));
  Add("b", Numbered(DataType::kFp32, 1, 10));
  Add("c", Numbered(DataType::kFp32, 2, 20));
  EXPECT_EQ(scheduler_->queued(), 2u);  // the only instance is busy
  log_->gate().Open();
  ASSERT_TRUE(sink_.WaitForCount(3));
  EXPECT_EQ(log_->rows(), (std::vector<int64_t>{1, 3}));  // b and c together
}

TEST_F(SchedulerTest, PreferredBatchSizes) {
  Start({.max_batch_size = 8, .preferred = {2, 4}, .delay_us = 1'000'000});
  log_->gate().Close();
  Add("a", Numbered(DataType::kFp32, 1, 0));
  EXPECT_EQ(scheduler_->queued(), 1u);
  Add("b", Numbered(DataType::kFp32, 1, 10));  // 2 rows: preferred, sent at once
  ASSERT_TRUE(log_->gate().WaitForWaiting(1));
  for (int i = 0; i < 5; ++i) Add("q" + std::to_string(i), Numbered(DataType::kFp32, 1, 100 + i * 10));
  EXPECT_EQ(scheduler_->queued(), 5u);
  log_->gate().Open();
  // Five waiting: the largest preferred size they make is 4; the fifth waits.
  ASSERT_TRUE(log_->WaitForFinished(2));
  EXPECT_EQ(log_->rows(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(scheduler_->queued(), 1u);
  Advance(microseconds(1'000'000));
  ASSERT_TRUE(sink_.WaitForCount(7));
  EXPECT_EQ(log_->rows(), (std::vector<int64_t>{2, 4, 1}));
  for (int i = 0; i < 5; ++i) {
    ExpectComputedFrom(sink_.Get("q" + std::to_string(i)), Numbered(DataType::kFp32, 1, 100 + i * 10));
  }
}

TEST_F(SchedulerTest, RequestsOfDifferentShapesAreNotMerged) {
  Start({.dims = {kDynamicDim}, .max_batch_size = 8, .delay_us = 100});
  const Tensor a = Numbered(DataType::kFp32, 1, 0, 3), b = Numbered(DataType::kFp32, 1, 10, 4),
               c = Numbered(DataType::kFp32, 2, 20, 3), d = Numbered(DataType::kFp32, 1, 30, 4);
  Add("a", a);
  Add("b", b);
  Add("c", c);
  Add("d", d);
  Advance(microseconds(100));
  ASSERT_TRUE(sink_.WaitForCount(4));
  auto runs = log_->runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].inputs[0].tensor.shape(), (Shape{3, 3}));  // a and c
  EXPECT_EQ(runs[1].inputs[0].tensor.shape(), (Shape{2, 4}));  // b and d
  ExpectComputedFrom(sink_.Get("a"), a);
  ExpectComputedFrom(sink_.Get("b"), b);
  ExpectComputedFrom(sink_.Get("c"), c);
  ExpectComputedFrom(sink_.Get("d"), d);
}

TEST_F(SchedulerTest, ARequestOfAnotherShapeDoesNotHoldUpABatch) {
  Start({.dims = {kDynamicDim}, .max_batch_size = 8, .preferred = {2}, .delay_us = 1'000'000});
  Add("a", Numbered(DataType::kFp32, 1, 0, 3));
  Add("b", Numbered(DataType::kFp32, 1, 10, 4));
  Add("c", Numbered(DataType::kFp32, 1, 20, 3));  // a + c make the preferred 2
  EXPECT_EQ(scheduler_->queued(), 1u);
  ASSERT_TRUE(sink_.WaitForCount(2));
  ASSERT_NE(sink_.Get("a"), nullptr);
  ASSERT_NE(sink_.Get("c"), nullptr);
  EXPECT_EQ(sink_.Get("b"), nullptr);
  EXPECT_EQ(log_->runs()[0].inputs[0].tensor.shape(), (Shape{2, 3}));
}

TEST_F(SchedulerTest, SplitsOutputsForEveryDatatype) {
  for (DataType dtype : kAllDataTypes) {
    SCOPED_TRACE(std::string(DataTypeName(dtype)));
    ResponseSink sink;
    Start({.dtype = dtype, .max_batch_size = 8, .delay_us = 100});
    const std::vector<Tensor> xs = {Numbered(dtype, 1, 1), Numbered(dtype, 2, 11),
                                    Numbered(dtype, 1, 21)};
    for (size_t i = 0; i < xs.size(); ++i) {
      auto r = Request(std::to_string(i), xs[i]);
      r->on_complete = sink.Callback();
      ASSERT_TRUE(scheduler_->Enqueue(r).ok());
    }
    Advance(microseconds(100));
    ASSERT_TRUE(sink.WaitForCount(3));
    EXPECT_EQ(log_->rows(), std::vector<int64_t>{4});
    const Tensor* previous = nullptr;
    for (size_t i = 0; i < xs.size(); ++i) {
      const InferResponse* r = sink.Get(std::to_string(i));
      ExpectComputedFrom(r, xs[i]);
      if (!r || !r->status.ok()) continue;
      const Tensor& y = Find(*r, "y")->tensor;
      if (previous) {
        EXPECT_EQ(y.data(), previous->data() + previous->byte_size());  // views of one buffer
      }
      previous = &y;
    }
    log_->gate().Open();
    scheduler_.reset();
  }
}

TEST_F(SchedulerTest, TheFakeModelDoublesEveryDatatype) {
  auto f32 = Doubled(Tensor::FromValues<float>(DataType::kFp32, {2}, {1.5f, -2}));
  EXPECT_EQ(f32.As<float>()[0], 3.0f);
  EXPECT_EQ(f32.As<float>()[1], -4.0f);
  auto i8 = Doubled(Tensor::FromValues<int8_t>(DataType::kInt8, {2}, {3, -4}));
  EXPECT_EQ(i8.As<int8_t>()[1], -8);
  auto f16 = Doubled(Tensor::FromValues<uint16_t>(DataType::kFp16, {1}, {0x3C00}));  // 1.0
  EXPECT_EQ(f16.As<uint16_t>()[0], 0x4000);                                          // 2.0
  auto bf16 = Doubled(Tensor::FromValues<uint16_t>(DataType::kBf16, {1}, {0x3F80}));
  EXPECT_EQ(bf16.As<uint16_t>()[0], 0x4000);
  auto b = Doubled(Tensor::FromValues<uint8_t>(DataType::kBool, {2}, {1, 0}));
  EXPECT_EQ(b.As<uint8_t>()[0], 0);
  const Tensor strings = Doubled(Tensor::FromStrings({"ab", ""}));
  auto s = strings.StringElements();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)[0], "abab");
  EXPECT_EQ((*s)[1], "");
}

TEST_F(SchedulerTest, EachRequestGetsTheOutputsItAskedFor) {
  Start({.max_batch_size = 8, .delay_us = 100});
  const Tensor x = Numbered(DataType::kFp32, 1, 0);
  Add("y", x, {"y"});
  Add("z", x, {"z"});
  Add("all", x);
  Advance(microseconds(100));
  ASSERT_TRUE(sink_.WaitForCount(3));
  EXPECT_TRUE(log_->runs()[0].output_names.empty());  // someone asked for all
  ASSERT_EQ(sink_.Get("y")->outputs.size(), 1u);
  EXPECT_EQ(sink_.Get("y")->outputs[0].name, "y");
  ASSERT_EQ(sink_.Get("z")->outputs.size(), 1u);
  EXPECT_EQ(sink_.Get("z")->outputs[0].name, "z");
  EXPECT_EQ(sink_.Get("all")->outputs.size(), 2u);

  Add("zy", x, {"z", "y"});
  Add("y2", x, {"y"});
  Advance(microseconds(100));
  ASSERT_TRUE(sink_.WaitForCount(5));
  EXPECT_EQ(log_->runs()[1].output_names, (std::vector<std::string>{"z", "y"}));
  const InferResponse* zy = sink_.Get("zy");
  ASSERT_EQ(zy->outputs.size(), 2u);
  EXPECT_EQ(zy->outputs[0].name, "z");
  EXPECT_EQ(zy->outputs[1].name, "y");
  ExpectComputedFrom(zy, x);
  ASSERT_EQ(sink_.Get("y2")->outputs.size(), 1u);

  // Alone, a request's tensors pass through untouched.
  const Tensor alone = Numbered(DataType::kFp32, 2, 50);
  Add("alone", alone, {"z"});
  Advance(microseconds(100));
  ASSERT_TRUE(sink_.WaitForCount(6));
  EXPECT_EQ(log_->runs()[2].output_names, std::vector<std::string>{"z"});
  EXPECT_EQ(log_->runs()[2].inputs[0].tensor.data(), alone.data());
  EXPECT_EQ(sink_.Get("alone")->outputs[0].tensor.data(), alone.data());
}

TEST_F(SchedulerTest, TwoInstancesRunTwoBatchesAtOnce) {
  Start({.max_batch_size = 4, .delay_us = 0, .instances = 2});
  log_->gate().Close();
  Add("a", Numbered(DataType::kFp32, 1, 0));
  Add("b", Numbered(DataType::kFp32, 1, 10));
  ASSERT_TRUE(log_->gate().WaitForWaiting(2));  // both instances busy at once
  Add("c", Numbered(DataType::kFp32, 1, 20));
  Add("d", Numbered(DataType::kFp32, 1, 30));
  EXPECT_EQ(scheduler_->queued(), 2u);
  log_->gate().Open();
  ASSERT_TRUE(sink_.WaitForCount(4));
  EXPECT_EQ(log_->max_running(), 2);
  EXPECT_EQ(log_->rows(), (std::vector<int64_t>{1, 1, 2}));  // c and d batched while waiting
  for (const char* id : {"a", "b", "c", "d"}) EXPECT_TRUE(sink_.Get(id)->status.ok());
}

TEST_F(SchedulerTest, NoBatchingWhenMaxBatchSizeIsZero) {
  // The delay is ignored: nothing can be batched.
  Start({.dims = {2}, .max_batch_size = 0, .delay_us = 1'000'000});
  log_->gate().Close();
  std::vector<Tensor> xs;
  for (int i = 0; i < 3; ++i) {
    xs.push_back(Tensor::FromValues<float>(DataType::kFp32, {2}, {float(i), float(i + 1)}));
    Add("r" + std::to_string(i), xs.back());
  }
  ASSERT_TRUE(log_->gate().WaitForWaiting(1));
  EXPECT_EQ(scheduler_->queued(), 2u);
  log_->gate().Open();
  ASSERT_TRUE(sink_.WaitForCount(3));
  auto runs = log_->runs();
  ASSERT_EQ(runs.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(runs[i].inputs[0].tensor.data(), xs[i].data());  // passed through
    ExpectComputedFrom(sink_.Get("r" + std::to_string(i)), xs[i]);
  }
}

TEST_F(SchedulerTest, WithoutDynamicBatchingEachRequestRunsAlone) {
  Start({.max_batch_size = 4, .dynamic_batching = false});
  log_->gate().Close();
  for (int i = 0; i < 3; ++i) Add("r" + std::to_string(i), Numbered(DataType::kFp32, 1, i * 10));
  ASSERT_TRUE(log_->gate().WaitForWaiting(1));
  EXPECT_EQ(scheduler_->queued(), 2u);
  log_->gate().Open();
  ASSERT_TRUE(sink_.WaitForCount(3));
  EXPECT_EQ(log_->rows(), (std::vector<int64_t>{1, 1, 1}));
}

TEST_F(SchedulerTest, ARequestWhoseDeadlinePassesInTheQueueIsNeverRun) {
  Start({.max_batch_size = 4, .delay_us = 0});
  log_->gate().Close();
  Add("blocker", Numbered(DataType::kFp32, 1, 0));
  ASSERT_TRUE(log_->gate().WaitForWaiting(1));
  auto late = Request("late", Tensor::FromValues<float>(DataType::kFp32, {1, 2}, {99, 99}));
  late->deadline = clock_.Now() + milliseconds(10);
  ASSERT_TRUE(scheduler_->Enqueue(late).ok());
  Add("patient", Numbered(DataType::kFp32, 1, 10));
  Advance(milliseconds(9));
  EXPECT_EQ(scheduler_->queued(), 2u);
  Advance(milliseconds(1));
  EXPECT_EQ(scheduler_->queued(), 1u);
  const InferResponse* r = sink_.WaitForResponse("late");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->status.code(), StatusCode::kDeadlineExceeded) << r->status.ToString();
  EXPECT_TRUE(r->outputs.empty());
  EXPECT_EQ(r->model_version, kVersion);
  log_->gate().Open();
  ASSERT_TRUE(sink_.WaitForCount(3));
  for (const auto& run : log_->runs()) {
    for (float v : run.inputs[0].tensor.As<float>()) EXPECT_NE(v, 99);
  }
  EXPECT_TRUE(sink_.Get("patient")->status.ok());
  EXPECT_TRUE(HasLine(R"(infergate_inference_rejected_total{model="m",version="3",reason="deadline"} 1)"));
}

TEST_F(SchedulerTest, DefaultTimeoutGivesRequestsADeadline) {
  Start({.max_batch_size = 4, .delay_us = 0, .default_timeout_us = 5000});
  log_->gate().Close();
  Add("blocker", Numbered(DataType::kFp32, 1, 0));
  ASSERT_TRUE(log_->gate().WaitForWaiting(1));
  Add("r", Numbered(DataType::kFp32, 1, 10));
  Advance(microseconds(4999));
  EXPECT_EQ(scheduler_->queued(), 1u);
  Advance(microseconds(1));
  const InferResponse* r = sink_.WaitForResponse("r");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->status.code(), StatusCode::kDeadlineExceeded);
  log_->gate().Open();
  ASSERT_NE(sink_.WaitForResponse("blocker"), nullptr);
  EXPECT_TRUE(sink_.Get("blocker")->status.ok());  // it had started in time
}

TEST_F(SchedulerTest, EnqueueRefusesARequestPastItsDeadline) {
  Start({});
  auto r = Request("r", Numbered(DataType::kFp32, 1, 0));
  r->deadline = clock_.Now();
  Status st = scheduler_->Enqueue(r);
  EXPECT_EQ(st.code(), StatusCode::kDeadlineExceeded);
  ASSERT_NE(r, nullptr);  // still the caller's
  EXPECT_EQ(sink_.count(), 0u);
  EXPECT_EQ(scheduler_->queued(), 0u);
  EXPECT_TRUE(HasLine(R"(infergate_inference_rejected_total{model="m",version="3",reason="deadline"} 1)"));
}

TEST_F(SchedulerTest, AFullQueueRefusesAtOnce) {
  Start({.dims = {2}, .max_batch_size = 0, .max_queue_size = 2});
  log_->gate().Close();
  auto x = [](float v) { return Tensor::FromValues<float>(DataType::kFp32, {2}, {v, v}); };
  Add("running", x(0));
  ASSERT_TRUE(log_->gate().WaitForWaiting(1));
  Add("q1", x(1));
  Add("q2", x(2));
  auto refused = Request("refused", x(3));
  Status st = scheduler_->Enqueue(refused);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_EQ(st.message(), "model 'm' queue is full (2 requests)");
  ASSERT_NE(refused, nullptr);
  ASSERT_TRUE(refused->on_complete);  // the caller still replies
  EXPECT_TRUE(HasLine(R"(infergate_inference_rejected_total{model="m",version="3",reason="queue_full"} 1)"));
  log_->gate().Open();
  ASSERT_TRUE(sink_.WaitForCount(3));
  EXPECT_EQ(sink_.Get("refused"), nullptr);
}

TEST_F(SchedulerTest, ShutdownRunsEverythingQueuedThenRefuses) {
  Start({.max_batch_size = 8, .delay_us = 1'000'000});
  for (int i = 0; i < 3; ++i) Add("r" + std::to_string(i), Numbered(DataType::kFp32, 1, i * 10));
  EXPECT_EQ(scheduler_->queued(), 3u);
  scheduler_->Shutdown();  // returns once all are answered
  EXPECT_EQ(sink_.count(), 3u);
  EXPECT_EQ(log_->rows(), std::vector<int64_t>{3});
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(sink_.Get("r" + std::to_string(i))->status.ok());
  auto late = Request("late", Numbered(DataType::kFp32, 1, 0));
  Status st = scheduler_->Enqueue(late);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("unloading"), std::string::npos) << st.message();
  ASSERT_NE(late, nullptr);
  EXPECT_TRUE(HasLine(R"(infergate_inference_rejected_total{model="m",version="3",reason="shutdown"} 1)"));
  scheduler_->Shutdown();  // idempotent
}

TEST_F(SchedulerTest, TheDestructorDrainsQueuedRequests) {
  Start({.max_batch_size = 2, .delay_us = 1'000'000, .instances = 2});
  log_->gate().Close();
  for (int i = 0; i < 5; ++i) Add("r" + std::to_string(i), Numbered(DataType::kFp32, 1, i * 10));
  ASSERT_TRUE(log_->gate().WaitForWaiting(2));  // r0 + r1 and r2 + r3 filled batches
  EXPECT_EQ(scheduler_->queued(), 1u);          // r4 waits for its delay
  log_->gate().Open();
  scheduler_.reset();
  EXPECT_EQ(sink_.count(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(sink_.Get("r" + std::to_string(i))->status.ok());
}

TEST_F(SchedulerTest, ABackendErrorFailsTheRequest) {
  Start({.max_batch_size = 4, .delay_us = 0});
  log_->fail_if = [](const std::vector<InferInput>& inputs) {
    for (float v : inputs[0].tensor.As<float>()) {
      if (v == -1) return Internal("poisoned input");
    }
    return Status::Ok();
  };
  Add("bad", Tensor::FromValues<float>(DataType::kFp32, {1, 2}, {-1, 0}));
  const InferResponse* r = sink_.WaitForResponse("bad");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->status, Internal("poisoned input"));
  EXPECT_TRUE(r->outputs.empty());
}

TEST_F(SchedulerTest, AFailedBatchIsRetriedOneRequestAtATime) {
  Start({.max_batch_size = 8, .delay_us = 100});
  log_->fail_if = [](const std::vector<InferInput>& inputs) {
    for (float v : inputs[0].tensor.As<float>()) {
      if (v == -1) return Internal("poisoned input");
    }
    return Status::Ok();
  };
  const Tensor good1 = Numbered(DataType::kFp32, 1, 0), good2 = Numbered(DataType::kFp32, 2, 10);
  Add("good1", good1);
  Add("bad", Tensor::FromValues<float>(DataType::kFp32, {1, 2}, {-1, 0}));
  Add("good2", good2);
  Advance(microseconds(100));
  ASSERT_TRUE(sink_.WaitForCount(3));
  EXPECT_EQ(log_->rows(), (std::vector<int64_t>{4, 1, 1, 2}));
  ExpectComputedFrom(sink_.Get("good1"), good1);
  ExpectComputedFrom(sink_.Get("good2"), good2);
  EXPECT_EQ(sink_.Get("bad")->status, Internal("poisoned input"));
  // As Triton counts them: the successful runs (good1 and good2 alone), and
  // the statistics of the two successful requests only.
  EXPECT_TRUE(HasLine(R"(infergate_inference_executions_total{model="m",version="3"} 2)"));
  const StatisticsSnapshot s = statistics_->Snapshot();
  EXPECT_EQ(s.execution_count, 2u);
  EXPECT_EQ(s.inference_count, 3u);  // good1 (1 row) + good2 (2 rows)
  EXPECT_EQ(s.compute_infer.count, 2u);
  ASSERT_EQ(s.batch_stats.size(), 2u);
  EXPECT_EQ(s.batch_stats[0].batch_size, 1u);
  EXPECT_EQ(s.batch_stats[1].batch_size, 2u);
}

// A remote model's server that is down fails the batch once, not once more
// per request.
TEST_F(SchedulerTest, ABatchTheBackendCannotRunFailsAtOnce) {
  Start({.max_batch_size = 8, .delay_us = 100});
  log_->fail_if = [](const std::vector<InferInput>&) { return Unavailable("remote grpc://cloud:8001 unreachable"); };
  Add("a", Numbered(DataType::kFp32, 1, 0));
  Add("b", Numbered(DataType::kFp32, 2, 10));
  Add("c", Numbered(DataType::kFp32, 1, 20));
  Advance(microseconds(100));
  ASSERT_TRUE(sink_.WaitForCount(3));
  EXPECT_EQ(log_->rows(), (std::vector<int64_t>{4}));  // one run
  for (const char* id : {"a", "b", "c"}) {
    EXPECT_EQ(sink_.Get(id)->status, Unavailable("remote grpc://cloud:8001 unreachable")) << id;
  }
}

TEST_F(SchedulerTest, FillsResponseFieldsAndMetrics) {
  Start({.max_batch_size = 8, .delay_us = 100});
  log_->during_run = [this] { clock_.Advance(milliseconds(4)); };
  Add("a", Numbered(DataType::kFp32, 1, 0));
  Add("b", Numbered(DataType::kFp32, 1, 10));
  Advance(microseconds(100));
  ASSERT_TRUE(sink_.WaitForCount(2));
  const InferResponse* a = sink_.Get("a");
  EXPECT_EQ(a->model_name, "m");
  EXPECT_EQ(a->model_version, kVersion);  // the request asked for the latest (0)
  EXPECT_EQ(a->id, "a");
  EXPECT_EQ(a->queue_time, microseconds(100));
  EXPECT_EQ(a->compute_time, milliseconds(4));
  const std::string labels = R"({model="m",version="3"})";
  EXPECT_TRUE(HasLine("infergate_inference_executions_total" + labels + " 1"));
  EXPECT_TRUE(HasLine("infergate_inference_batch_size_count" + labels + " 1"));
  EXPECT_TRUE(HasLine("infergate_inference_batch_size_sum" + labels + " 2"));
  EXPECT_TRUE(HasLine("infergate_inference_queue_duration_seconds_count" + labels + " 2"));
  EXPECT_TRUE(HasLine("infergate_inference_compute_duration_seconds_count" + labels + " 1"));
  // Bucket bounds are LatencyBuckets(): 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, ...
  const Labels l = {{"model", "m"}, {"version", "3"}};
  Histogram& queue = metrics_.GetHistogram("infergate_inference_queue_duration_seconds", "", l, {});
  EXPECT_EQ(queue.CumulativeCount(1), 2u);  // 100 us <= 0.00025 s
  EXPECT_DOUBLE_EQ(queue.sum(), 0.0002);
  Histogram& compute = metrics_.GetHistogram("infergate_inference_compute_duration_seconds", "", l, {});
  EXPECT_EQ(compute.CumulativeCount(4), 0u);  // 4 ms > 0.0025 s
  EXPECT_EQ(compute.CumulativeCount(5), 1u);  // 4 ms <= 0.005 s
  EXPECT_TRUE(HasLine(R"(infergate_inference_rejected_total{model="m",version="3",reason="queue_full"} 0)"));
}

// Triton's statistics: queue and compute per request (a request in a batch
// adds the whole execution's durations), batch_stats and execution_count per
// backend run, inference_count in rows; /metrics renders the same counters.
TEST_F(SchedulerTest, KeepsStatisticsPerRequestAndPerExecution) {
  Start({.max_batch_size = 8, .delay_us = 100});
  log_->during_run = [this] { clock_.Advance(milliseconds(4)); };
  Add("a", Numbered(DataType::kFp32, 1, 0));
  Add("b", Numbered(DataType::kFp32, 2, 10));
  Advance(microseconds(100));  // one run of 3 rows
  ASSERT_TRUE(sink_.WaitForCount(2));
  Add("c", Numbered(DataType::kFp32, 1, 20));
  Advance(microseconds(100));  // one run of 1 row
  ASSERT_TRUE(sink_.WaitForCount(3));

  const StatisticsSnapshot s = statistics_->Snapshot();
  EXPECT_EQ(s.name, "m");
  EXPECT_EQ(s.version, kVersion);
  EXPECT_EQ(s.inference_count, 4u);
  EXPECT_EQ(s.execution_count, 2u);
  EXPECT_EQ(s.queue, (DurationStat{3, 300'000}));
  EXPECT_EQ(s.compute_infer, (DurationStat{3, 12'000'000}));  // 4 ms for each of a, b, c
  EXPECT_EQ(s.compute_input.count, 3u);
  EXPECT_EQ(s.compute_output.count, 3u);
  EXPECT_EQ(s.success.count, 0u);  // the dispatcher records outcomes
  ASSERT_EQ(s.batch_stats.size(), 2u);
  EXPECT_EQ(s.batch_stats[0].batch_size, 1u);
  EXPECT_EQ(s.batch_stats[0].compute_infer, (DurationStat{1, 4'000'000}));
  EXPECT_EQ(s.batch_stats[1].batch_size, 3u);
  EXPECT_EQ(s.batch_stats[1].compute_infer, (DurationStat{1, 4'000'000}));
  EXPECT_EQ(s.batch_stats[1].compute_input.count, 1u);
  EXPECT_EQ(s.batch_stats[1].compute_output.count, 1u);

  const std::string labels = R"({model="m",version="3"})";
  EXPECT_TRUE(HasLine("infergate_inference_count_total" + labels + " 4"));
  EXPECT_TRUE(HasLine("infergate_inference_executions_total" + labels + " 2"));
  EXPECT_TRUE(HasLine("infergate_inference_computed_requests_total" + labels + " 3"));
  EXPECT_TRUE(HasLine("infergate_inference_queue_duration_ns_total" + labels + " 300000"));
  EXPECT_TRUE(HasLine("infergate_inference_compute_infer_duration_ns_total" + labels + " 12000000"));
}

TEST_F(SchedulerTest, WorksWithoutAMetricsRegistry) {
  auto version = std::make_shared<const ModelVersion>(
      MakeConfig({}), 1, "m/1/model.onnx",
      [&] {
        std::vector<std::unique_ptr<ModelInstance>> v;
        v.push_back(std::make_unique<RecordingInstance>(DataType::kFp32, Shape{-1, 2}, log_));
        return v;
      }());
  auto scheduler = Scheduler::Create(version, SchedulerOptions{&clock_, nullptr, nullptr});
  ASSERT_TRUE(scheduler.ok()) << scheduler.status().ToString();
  auto r = Request("r", Numbered(DataType::kFp32, 1, 0));
  ASSERT_TRUE((*scheduler)->Enqueue(r).ok());
  ExpectComputedFrom(sink_.WaitForResponse("r"), Numbered(DataType::kFp32, 1, 0));
}

TEST_F(SchedulerTest, CreateChecksTheBatchingSettings) {
  Status st = Make({.max_batch_size = 8, .preferred = {4, 16}});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("preferred_batch_size 16"), std::string::npos) << st.message();
  EXPECT_EQ(Scheduler::Create(nullptr, {}).status().code(), StatusCode::kInvalidArgument);
}

// With a real clock the timer thread fires by itself: no Wake() here.
TEST_F(SchedulerTest, RealClockDelaysAndDeadlinesFireByThemselves) {
  auto version = std::make_shared<const ModelVersion>(
      MakeConfig({.max_batch_size = 8, .delay_us = 2000}), 1, "m/1/model.onnx", [&] {
        std::vector<std::unique_ptr<ModelInstance>> v;
        v.push_back(std::make_unique<RecordingInstance>(DataType::kFp32, Shape{-1, 2}, log_));
        return v;
      }());
  auto created = Scheduler::Create(version, SchedulerOptions{&SteadyClock::Instance(), &metrics_, nullptr});
  ASSERT_TRUE(created.ok());
  std::unique_ptr<Scheduler> scheduler = std::move(*created);
  auto a = Request("a", Numbered(DataType::kFp32, 1, 0));
  ASSERT_TRUE(scheduler->Enqueue(a).ok());
  ASSERT_NE(sink_.WaitForResponse("a"), nullptr);  // sent when its 2 ms delay ran out
  EXPECT_EQ(log_->rows(), std::vector<int64_t>{1});

  // A deadline passing while the only instance is busy is answered then,
  // without waiting for the instance.
  log_->gate().Close();
  auto blocker = Request("blocker", Numbered(DataType::kFp32, 1, 0));
  ASSERT_TRUE(scheduler->Enqueue(blocker).ok());
  ASSERT_TRUE(log_->gate().WaitForWaiting(1));  // after its delay, held in the instance
  auto late = Request("late", Numbered(DataType::kFp32, 1, 20));
  late->deadline = SteadyClock::Instance().Now() + milliseconds(20);
  Status st = scheduler->Enqueue(late);
  if (st.ok()) {  // a slow machine (valgrind) may reach here after the deadline
    const InferResponse* r = sink_.WaitForResponse("late");
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->status.code(), StatusCode::kDeadlineExceeded);
  } else {
    EXPECT_EQ(st.code(), StatusCode::kDeadlineExceeded);
  }
  EXPECT_EQ(sink_.Get("blocker"), nullptr);  // still held
  log_->gate().Open();
  scheduler.reset();
  EXPECT_EQ(sink_.count(), st.ok() ? 3u : 2u);
  EXPECT_TRUE(sink_.Get("blocker")->status.ok());
}

// Batch assembly on its own.

std::unique_ptr<InferRequest> WithInputs(std::vector<InferInput> inputs,
                                         std::vector<std::string> outputs = {}) {
  auto r = std::make_unique<InferRequest>();
  r->inputs = std::move(inputs);
  for (auto& o : outputs) r->outputs.push_back({o, {}, {}});
  return r;
}

TEST(BatchAssemblyTest, KeysMatchOnDatatypeAndNonBatchDims) {
  auto t = [](DataType dtype, Shape shape) {
    std::vector<uint8_t> bytes(static_cast<size_t>(*ElementCount(shape)) * ElementSize(dtype));
    return Tensor::FromBytes(dtype, shape, bytes);
  };
  auto a = WithInputs({{"x", t(DataType::kFp32, {1, 4}), {}}, {"w", t(DataType::kInt64, {1}), {}}});
  auto b = WithInputs({{"w", t(DataType::kInt64, {3}), {}}, {"x", t(DataType::kFp32, {3, 4}), {}}});
  auto c = WithInputs({{"x", t(DataType::kFp32, {1, 5}), {}}, {"w", t(DataType::kInt64, {1}), {}}});
  auto d = WithInputs({{"x", t(DataType::kFp16, {1, 4}), {}}, {"w", t(DataType::kInt64, {1}), {}}});
  EXPECT_EQ(BatchKey(*a), BatchKey(*b));  // input order does not matter
  EXPECT_NE(BatchKey(*a), BatchKey(*c));
  EXPECT_NE(BatchKey(*a), BatchKey(*d));
  EXPECT_EQ(BatchKey(*WithInputs({})), "");
  EXPECT_EQ(BatchKey(*WithInputs({{"s", t(DataType::kFp32, {}), {}}})), "");
  EXPECT_EQ(RequestRows(*b), 3);
  EXPECT_EQ(RequestRows(*WithInputs({})), 1);

  auto joined = ConcatInputs({a.get(), b.get()});
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  ASSERT_EQ(joined->size(), 2u);
  EXPECT_EQ((*joined)[0].name, "x");
  EXPECT_EQ((*joined)[0].tensor.shape(), (Shape{4, 4}));
  EXPECT_EQ((*joined)[1].tensor.shape(), (Shape{4}));
}

TEST(BatchAssemblyTest, OutputsUnionAndSlices) {
  auto y = WithInputs({}, {"y"});
  auto zy = WithInputs({}, {"z", "y"});
  auto all = WithInputs({});
  EXPECT_EQ(UnionOfOutputs({y.get(), zy.get()}), (std::vector<std::string>{"y", "z"}));
  EXPECT_TRUE(UnionOfOutputs({y.get(), all.get()}).empty());

  std::vector<InferOutput> outs = {
      {"y", Tensor::FromValues<int32_t>(DataType::kInt32, {3, 1}, {1, 2, 3}), {}},
      {"z", Tensor::FromValues<int32_t>(DataType::kInt32, {3}, {4, 5, 6}), {}}};
  EXPECT_TRUE(CheckBatchOutputs(outs, 3).ok());
  Status wrong = CheckBatchOutputs(outs, 2);
  EXPECT_EQ(wrong.code(), StatusCode::kInternal);
  EXPECT_NE(wrong.message().find("'y'"), std::string::npos);

  auto mine = OutputsFor(*zy, outs, std::make_pair(int64_t{1}, int64_t{3}));
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0].name, "z");
  EXPECT_EQ((*mine)[0].tensor.As<int32_t>()[0], 5);
  EXPECT_EQ((*mine)[1].tensor.shape(), (Shape{2, 1}));
  auto missing = OutputsFor(*WithInputs({}, {"w"}), outs, std::nullopt);
  EXPECT_EQ(missing.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace infergate::core

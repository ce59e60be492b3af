// Running: every datatype end to end, batching, numerics, errors,
// concurrency and the lifetime of output tensors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "backends/onnxruntime/onnx_writer.h"
#include "backends/onnxruntime/ort_test_util.h"
#include "testing/sanitizers.h"
#include "testing/temp_dir.h"

namespace infergate::testing {
namespace {

using ::testing::HasSubstr;
using core::DataType;
using core::StatusCode;
using core::Tensor;

// Little-endian bytes of `patterns`, each cut to the element size.
std::vector<uint8_t> PackBits(const std::vector<uint64_t>& patterns, size_t element_size) {
  std::vector<uint8_t> bytes;
  for (uint64_t p : patterns) {
    for (size_t b = 0; b < element_size; ++b) bytes.push_back(static_cast<uint8_t>(p >> (8 * b)));
  }
  return bytes;
}

struct TypeCase {
  std::string file_suffix;
  DataType dtype;
  std::vector<uint64_t> bit_patterns;  // 6 values: shape [2, 3]
};
// Names the case in test listings (ctest shows it) instead of its bytes.
void PrintTo(const TypeCase& c, std::ostream* os) { *os << c.file_suffix; }

// Edge values as bit patterns: extremes, signed zero, denormals,
// infinities and NaNs with payloads (compared bytewise, so a NaN payload
// that changed would show).
std::vector<TypeCase> TypeCases() {
  return {
      {"bool", DataType::kBool, {0, 1, 1, 0, 1, 0}},
      {"uint8", DataType::kUint8, {0, 1, 127, 128, 254, 255}},
      {"uint16", DataType::kUint16, {0, 1, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF}},
      {"uint32", DataType::kUint32, {0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF}},
      {"uint64", DataType::kUint64, {0, 1, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, ~1ull, ~0ull}},
      {"int8", DataType::kInt8, {0x80, 0xFF, 0, 1, 0x7E, 0x7F}},
      {"int16", DataType::kInt16, {0x8000, 0xFFFF, 0, 1, 0x7FFE, 0x7FFF}},
      {"int32", DataType::kInt32, {0x80000000, 0xFFFFFFFF, 0, 1, 0x7FFFFFFE, 0x7FFFFFFF}},
      {"int64", DataType::kInt64, {0x8000000000000000, ~0ull, 0, 1, 0x7FFFFFFFFFFFFFFE, 0x7FFFFFFFFFFFFFFF}},
      // -0, smallest denormal, -inf, quiet NaN with payload, signalling NaN, largest finite.
      {"fp16", DataType::kFp16, {0x8000, 0x0001, 0xFC00, 0x7E01, 0x7C01, 0x7BFF}},
      {"bf16", DataType::kBf16, {0x8000, 0x0001, 0xFF80, 0x7FC1, 0x7F81, 0x7F7F}},
      {"fp32", DataType::kFp32, {0x80000000, 0x00000001, 0xFF800000, 0x7FC00001, 0x7F800001, 0x7F7FFFFF}},
      {"fp64", DataType::kFp64,
       {0x8000000000000000, 0x1, 0xFFF0000000000000, 0x7FF8000000000001, 0x7FF0000000000001,
        0x7FEFFFFFFFFFFFFF}},
  };
}

class IdentityRoundTripTest : public ::testing::TestWithParam<TypeCase> {};

TEST_P(IdentityRoundTripTest, ValuesComeBackBitForBit) {
  const TypeCase& c = GetParam();
  auto model = LoadOrDie("identity_" + c.file_suffix + ".onnx");
  ASSERT_NE(model, nullptr);
  Tensor in = Tensor::FromBytes(c.dtype, {2, 3}, PackBits(c.bit_patterns, core::ElementSize(c.dtype)));
  std::vector<core::InferOutput> outputs;
  core::Status status = model->Run({Input("INPUT0", in)}, {}, &outputs);
  ASSERT_TRUE(status.ok()) << status.ToString();
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].name, "OUTPUT0");
  EXPECT_EQ(outputs[0].tensor.dtype(), c.dtype);
  EXPECT_EQ(outputs[0].tensor.shape(), (core::Shape{2, 3}));
  ASSERT_EQ(outputs[0].tensor.byte_size(), in.byte_size());
  EXPECT_EQ(std::memcmp(outputs[0].tensor.data(), in.data(), in.byte_size()), 0);
}

TEST_P(IdentityRoundTripTest, EmptyBatchRuns) {
  const TypeCase& c = GetParam();
  auto model = LoadOrDie("identity_" + c.file_suffix + ".onnx");
  ASSERT_NE(model, nullptr);
  std::vector<core::InferOutput> outputs;
  core::Status status =
      model->Run({Input("INPUT0", Tensor::FromBytes(c.dtype, {0, 3}, {}))}, {}, &outputs);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(outputs[0].tensor.shape(), (core::Shape{0, 3}));
  EXPECT_EQ(outputs[0].tensor.byte_size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(AllFixedSizeTypes, IdentityRoundTripTest, ::testing::ValuesIn(TypeCases()),
                         [](const auto& test_info) { return test_info.param.file_suffix; });

TEST(OrtRunTest, BytesRoundTripIncludingEmptyNulAndNonAscii) {
  auto model = LoadOrDie("identity_string.onnx");
  ASSERT_NE(model, nullptr);
  const std::vector<std::string> strings = {
      "", "plain", std::string("a\0b", 3), "\xC3\xA9t\xC3\xA9 \xE2\x82\xAC", "\xFF\xFE not utf-8",
      std::string(1000, 'x')};
  Tensor in = Tensor::FromStrings(strings, {2, 3});
  std::vector<core::InferOutput> outputs;
  core::Status status = model->Run({Input("INPUT0", in)}, {}, &outputs);
  ASSERT_TRUE(status.ok()) << status.ToString();
  const Tensor& out = outputs[0].tensor;
  EXPECT_EQ(out.dtype(), DataType::kBytes);
  EXPECT_EQ(out.shape(), (core::Shape{2, 3}));
  auto elements = out.StringElements();
  ASSERT_TRUE(elements.ok());
  ASSERT_EQ(elements->size(), strings.size());
  for (size_t i = 0; i < strings.size(); ++i) EXPECT_EQ((*elements)[i], strings[i]) << i;
  // The length-prefixed layout itself is identical.
  ASSERT_EQ(out.byte_size(), in.byte_size());
  EXPECT_EQ(std::memcmp(out.data(), in.data(), in.byte_size()), 0);
}

TEST(OrtRunTest, BytesEmptyBatchRuns) {
  auto model = LoadOrDie("identity_string.onnx");
  ASSERT_NE(model, nullptr);
  std::vector<core::InferOutput> outputs;
  ASSERT_TRUE(model->Run({Input("INPUT0", Tensor::FromStrings({}, {0, 2}))}, {}, &outputs).ok());
  EXPECT_EQ(outputs[0].tensor.shape(), (core::Shape{0, 2}));
  EXPECT_EQ(outputs[0].tensor.byte_size(), 0u);
}

TEST(OrtRunTest, StringUpper) {
  auto model = LoadOrDie("string_upper.onnx");
  ASSERT_NE(model, nullptr);
  std::vector<core::InferOutput> outputs;
  core::Status status = model->Run(
      {Input("text", Tensor::FromStrings({"hello", "MiXeD 123", "sensor-7"}))}, {}, &outputs);
  ASSERT_TRUE(status.ok()) << status.ToString();
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].name, "upper");
  auto elements = outputs[0].tensor.StringElements();
  ASSERT_TRUE(elements.ok());
  EXPECT_THAT(*elements, ::testing::ElementsAre("HELLO", "MIXED 123", "SENSOR-7"));
}

std::vector<float> RandomRows(int rows, int width, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(rows * width));
  for (float& x : v) x = normal(rng);
  return v;
}

std::vector<float> RunMlp(core::ModelInstance& model, const std::vector<float>& rows, int64_t batch,
                          size_t first_row = 0) {
  std::vector<float> slice(rows.begin() + static_cast<ptrdiff_t>(first_row * 16),
                           rows.begin() + static_cast<ptrdiff_t>((first_row + batch) * 16));
  std::vector<core::InferOutput> outputs;
  core::Status status = model.Run(
      {Input("input", Tensor::FromValues<float>(DataType::kFp32, {batch, 16}, slice))}, {},
      &outputs);
  EXPECT_TRUE(status.ok()) << status.ToString();
  if (!status.ok()) return {};
  EXPECT_EQ(outputs[0].tensor.shape(), (core::Shape{batch, 4}));
  auto values = outputs[0].tensor.As<float>();
  return {values.begin(), values.end()};
}

TEST(OrtRunTest, DynamicBatchGivesTheSameRowsAsSingleRuns) {
  auto model = LoadOrDie("mlp16.onnx");
  ASSERT_NE(model, nullptr);
  const std::vector<float> rows = RandomRows(64, 16, 1);
  std::vector<float> singles;
  for (size_t r = 0; r < 64; ++r) {
    auto one = RunMlp(*model, rows, 1, r);
    ASSERT_EQ(one.size(), 4u);
    EXPECT_NEAR(one[0] + one[1] + one[2] + one[3], 1.0f, 1e-5f);
    singles.insert(singles.end(), one.begin(), one.end());
  }
  for (int64_t batch : {1, 7, 64}) {
    auto batched = RunMlp(*model, rows, batch);
    ASSERT_EQ(batched.size(), static_cast<size_t>(batch * 4));
    for (size_t i = 0; i < batched.size(); ++i) {
      EXPECT_NEAR(batched[i], singles[i], 1e-6f) << "batch " << batch << " element " << i;
    }
  }
}

TEST(OrtRunTest, AddSubNumerics) {
  auto model = LoadOrDie("add_sub.onnx");
  ASSERT_NE(model, nullptr);
  const std::vector<float> a = RandomRows(3, 4, 2), b = RandomRows(3, 4, 3);
  std::vector<core::InferOutput> outputs;
  // Inputs in the reverse of the model's order.
  core::Status status =
      model->Run({Input("INPUT1", Tensor::FromValues<float>(DataType::kFp32, {3, 4}, b)),
                  Input("INPUT0", Tensor::FromValues<float>(DataType::kFp32, {3, 4}, a))},
                 {}, &outputs);
  ASSERT_TRUE(status.ok()) << status.ToString();
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[0].name, "OUTPUT0");
  EXPECT_EQ(outputs[1].name, "OUTPUT1");
  auto sum = outputs[0].tensor.As<float>();
  auto diff = outputs[1].tensor.As<float>();
  ASSERT_EQ(sum.size(), 12u);
  ASSERT_EQ(diff.size(), 12u);
  for (size_t i = 0; i < 12; ++i) {
    EXPECT_EQ(sum[i], a[i] + b[i]);
    EXPECT_EQ(diff[i], a[i] - b[i]);
  }
}

TEST(OrtRunTest, RequestedOutputsComeInTheRequestedOrder) {
  auto model = LoadOrDie("add_sub.onnx");
  ASSERT_NE(model, nullptr);
  auto a = Tensor::FromValues<float>(DataType::kFp32, {1, 4}, {5, 6, 7, 8});
  auto b = Tensor::FromValues<float>(DataType::kFp32, {1, 4}, {1, 1, 1, 1});
  std::vector<core::InferOutput> outputs(3);  // replaced, not appended to
  ASSERT_TRUE(model->Run({Input("INPUT0", a), Input("INPUT1", b)}, {"OUTPUT1"}, &outputs).ok());
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].name, "OUTPUT1");
  EXPECT_EQ(outputs[0].tensor.As<float>()[0], 4.0f);
  ASSERT_TRUE(
      model->Run({Input("INPUT0", a), Input("INPUT1", b)}, {"OUTPUT1", "OUTPUT0"}, &outputs).ok());
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[0].name, "OUTPUT1");
  EXPECT_EQ(outputs[1].name, "OUTPUT0");
  EXPECT_EQ(outputs[1].tensor.As<float>()[0], 6.0f);
}

class OrtRunErrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = LoadOrDie("add_sub.onnx");
    ASSERT_NE(model_, nullptr);
  }
  core::Status Run(const std::vector<core::InferInput>& inputs,
                   const std::vector<std::string>& names = {}) {
    return model_->Run(inputs, names, &outputs_);
  }
  static Tensor Floats(core::Shape shape) {
    size_t n = static_cast<size_t>(core::ElementCount(shape).value_or(0));
    return Tensor::FromValues<float>(DataType::kFp32, std::move(shape), std::vector<float>(n, 1.0f));
  }
  std::unique_ptr<core::ModelInstance> model_;
  std::vector<core::InferOutput> outputs_;
};

TEST_F(OrtRunErrorTest, UnknownInputNameIsNamed) {
  core::Status s = Run({Input("INPUT0", Floats({1, 4})), Input("INPUT9", Floats({1, 4}))});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'INPUT9'"));
}

TEST_F(OrtRunErrorTest, WrongTypeIsNamed) {
  core::Status s = Run({Input("INPUT0", Floats({1, 4})),
                        Input("INPUT1", Tensor::FromValues<double>(DataType::kFp64, {1, 4}, {1, 2, 3, 4}))});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'INPUT1'"));
  EXPECT_THAT(s.message(), HasSubstr("FP64"));
}

TEST_F(OrtRunErrorTest, WrongShapeIsNamed) {
  core::Status s = Run({Input("INPUT0", Floats({1, 5})), Input("INPUT1", Floats({1, 4}))});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'INPUT0'"));
  EXPECT_THAT(s.message(), HasSubstr("[1,5]"));
}

TEST_F(OrtRunErrorTest, BytesThatDisagreeWithTheShapeAreNamed) {
  Tensor short_tensor = Tensor::FromBytes(DataType::kFp32, {1, 4}, std::vector<uint8_t>(12));
  core::Status s = Run({Input("INPUT0", Floats({1, 4})), Input("INPUT1", short_tensor)});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'INPUT1'"));
}

TEST_F(OrtRunErrorTest, MissingInputIsNamed) {
  core::Status s = Run({Input("INPUT0", Floats({1, 4}))});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("missing input 'INPUT1'"));
}

TEST_F(OrtRunErrorTest, UnknownOutputIsNotFound) {
  core::Status s = Run({Input("INPUT0", Floats({1, 4})), Input("INPUT1", Floats({1, 4}))},
                       {"OUTPUT0", "nope"});
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "unknown output 'nope'");
}

TEST_F(OrtRunErrorTest, InputsThatDisagreeOnASymbolicDimAreNamed) {
  // Both inputs fit [-1,4] alone; the symbolic dim "batch" ties them.
  core::Status s = Run({Input("INPUT0", Floats({2, 4})), Input("INPUT1", Floats({3, 4}))});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "inputs 'INPUT0' and 'INPUT1' must agree on dimension 'batch' (2 vs 3)");
}

TEST(OrtRunTest, ErrorsInsideTheGraphNameTheModelFile) {
  // INPUT0 [batch, 4] and INPUT1 [4]: the dims are not tied by name, so the
  // mismatch is found by ORT's Add kernel.
  namespace onnx = testing::onnx;
  onnx::GraphParts g;
  g.nodes.push_back(onnx::Node("Add", {"INPUT0", "INPUT1"}, {"OUTPUT0"}));
  g.inputs.push_back(onnx::ValueInfo("INPUT0", onnx::TensorType(onnx::kFloat, {-1, 4})));
  g.inputs.push_back(onnx::ValueInfo("INPUT1", onnx::TensorType(onnx::kFloat, {-1}, "m")));
  g.outputs.push_back(onnx::ValueInfo("OUTPUT0", onnx::TensorType(onnx::kFloat, {-1, 4})));
  TempDir dir;
  auto file = dir.Write("broadcast.onnx", onnx::Model(onnx::Graph(g)));
  auto model = OrtTestBackend().Load(file, {});
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<core::InferOutput> outputs;
  core::Status s = (*model)->Run(
      {Input("INPUT0", Tensor::FromValues<float>(DataType::kFp32, {1, 4}, {1, 2, 3, 4})),
       Input("INPUT1", Tensor::FromValues<float>(DataType::kFp32, {3}, {1, 2, 3}))},
      {}, &outputs);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("broadcast.onnx: "));
  EXPECT_THAT(s.message(), HasSubstr("Add"));
}

TEST(OrtRunTest, RunThatCannotAllocateFailsCleanly) {
  if (kAddressSanitizer) {
    // ASan's operator new ends the process on an impossible size instead of
    // throwing std::bad_alloc for ORT to turn into an error.
    GTEST_SKIP() << "needs std::bad_alloc, which AddressSanitizer's allocator does not throw";
  }
  // ConstantOfShape to [1e9, 1e6] FP32 (4e15 bytes). ORT skips folding it
  // at load (over its folding limit), so the allocation happens in Run.
  namespace onnx = testing::onnx;
  onnx::GraphParts g;
  g.nodes.push_back(onnx::Node("ConstantOfShape", {"shape"}, {"big"}));
  g.nodes.push_back(onnx::Node("Add", {"INPUT0", "big"}, {"OUTPUT0"}));
  g.inputs.push_back(onnx::ValueInfo("INPUT0", onnx::TensorType(onnx::kFloat, {1})));
  g.outputs.push_back(onnx::ValueInfo("OUTPUT0", onnx::TensorType(onnx::kFloat, {-1, -1})));
  g.initializers.push_back(onnx::Int64Tensor("shape", {2}, {1000000000, 1000000}));
  TempDir dir;
  auto file = dir.Write("alloc_bomb.onnx", onnx::Model(onnx::Graph(g)));
  auto model = OrtTestBackend().Load(file, {});
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<core::InferOutput> outputs;
  core::Status s = (*model)->Run(
      {Input("INPUT0", Tensor::FromValues<float>(DataType::kFp32, {1}, {1.0f}))}, {}, &outputs);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("alloc_bomb.onnx"));
  EXPECT_TRUE(outputs.empty());
}

TEST(OrtRunTest, ConcurrentRunsOnOneInstanceAreCorrect) {
  auto model = LoadOrDie("mlp16.onnx");
  ASSERT_NE(model, nullptr);
  constexpr int kThreads = 4, kRows = 32, kRounds = 50;
  const std::vector<float> rows = RandomRows(kRows, 16, 4);
  std::vector<std::vector<float>> expected;
  for (size_t r = 0; r < kRows; ++r) expected.push_back(RunMlp(*model, rows, 1, r));
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        size_t r = static_cast<size_t>((t * 7 + round) % kRows);
        std::vector<float> row(rows.begin() + static_cast<ptrdiff_t>(r * 16),
                               rows.begin() + static_cast<ptrdiff_t>((r + 1) * 16));
        std::vector<core::InferOutput> outputs;
        core::Status s = model->Run(
            {Input("input", Tensor::FromValues<float>(DataType::kFp32, {1, 16}, row))}, {}, &outputs);
        if (!s.ok() || outputs.size() != 1) {
          ++failures[t];
          continue;
        }
        auto got = outputs[0].tensor.As<float>();
        for (size_t i = 0; i < 4; ++i) {
          if (std::fabs(got[i] - expected[r][i]) > 1e-6f) ++failures[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
}

TEST(OrtRunTest, OutputsOutliveTheInstanceAndTheBackend) {
  std::vector<core::InferOutput> outputs;
  std::vector<float> expected;
  {
    auto backend = ort::OrtBackend::Create({});
    ASSERT_TRUE(backend.ok());
    auto model = (*backend)->Load(ModelPath("add_sub.onnx"), {});
    ASSERT_TRUE(model.ok());
    auto a = Tensor::FromValues<float>(DataType::kFp32, {2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
    ASSERT_TRUE((*model)->Run({Input("INPUT0", a), Input("INPUT1", a)}, {}, &outputs).ok());
    auto sum = outputs[0].tensor.As<float>();
    expected.assign(sum.begin(), sum.end());
  }  // instance, then backend destroyed
  ASSERT_EQ(outputs.size(), 2u);
  auto sum = outputs[0].tensor.As<float>();
  EXPECT_EQ(std::vector<float>(sum.begin(), sum.end()), expected);
  EXPECT_EQ(sum[7], 16.0f);
  // A copy of one output keeps the storage alive after the others are gone.
  Tensor kept = outputs[1].tensor;
  outputs.clear();
  EXPECT_EQ(kept.As<float>()[7], 0.0f);
}

}  // namespace
}  // namespace infergate::testing

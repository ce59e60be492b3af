// Loading: signatures, options, and files that must be refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <ostream>
#include <string>
#include <vector>

#include "backends/onnxruntime/onnx_writer.h"
#include "backends/onnxruntime/ort_test_util.h"
#include "testing/temp_dir.h"

namespace infergate::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using core::DataType;
using core::StatusCode;

TEST(OrtLoadTest, NamesItselfAndTheRuntimeVersion) {
  EXPECT_EQ(OrtTestBackend().name(), "onnxruntime");
  EXPECT_THAT(OrtTestBackend().version(), ::testing::StartsWith("onnxruntime 1."));
}

TEST(OrtLoadTest, Mlp16Signature) {
  auto model = LoadOrDie("mlp16.onnx");
  ASSERT_NE(model, nullptr);
  const core::ModelSignature& sig = model->signature();
  ASSERT_EQ(sig.inputs.size(), 1u);
  EXPECT_EQ(sig.inputs[0].name, "input");
  EXPECT_EQ(sig.inputs[0].dtype, DataType::kFp32);
  EXPECT_EQ(sig.inputs[0].shape, (core::Shape{-1, 16}));
  EXPECT_THAT(sig.inputs[0].dim_names, ElementsAre("batch", ""));
  ASSERT_EQ(sig.outputs.size(), 1u);
  EXPECT_EQ(sig.outputs[0].name, "probabilities");
  EXPECT_EQ(sig.outputs[0].dtype, DataType::kFp32);
  EXPECT_EQ(sig.outputs[0].shape, (core::Shape{-1, 4}));
  EXPECT_THAT(sig.outputs[0].dim_names, ElementsAre("batch", ""));
  EXPECT_EQ(sig.opsets, (std::map<std::string, int64_t>{{"", 17}}));
  EXPECT_EQ(sig.producer_name, "infergate-testdata");
  EXPECT_EQ(sig.producer_version, "1");
  EXPECT_EQ(sig.graph_name, "mlp16");
  EXPECT_EQ(sig.description, "16-feature MLP with a dynamic batch dimension.");
  EXPECT_EQ(sig.model_version, 0);
  EXPECT_EQ(sig.metadata, (std::map<std::string, std::string>{
                              {"author", "infergate tests"},
                              {"description", "16-feature MLP with a dynamic batch dimension"}}));
}

TEST(OrtLoadTest, FixedShapeModelHasNoDynamicDims) {
  auto model = LoadOrDie("mlp16_fixed.onnx");
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->signature().inputs[0].shape, (core::Shape{1, 16}));
  EXPECT_THAT(model->signature().inputs[0].dim_names, ElementsAre("", ""));
  EXPECT_TRUE(model->signature().metadata.empty());
}

TEST(OrtLoadTest, TwoInputsAndTwoOutputsKeepTheirOrder) {
  auto model = LoadOrDie("add_sub.onnx");
  ASSERT_NE(model, nullptr);
  const auto& sig = model->signature();
  ASSERT_EQ(sig.inputs.size(), 2u);
  ASSERT_EQ(sig.outputs.size(), 2u);
  EXPECT_EQ(sig.inputs[0].name, "INPUT0");
  EXPECT_EQ(sig.inputs[1].name, "INPUT1");
  EXPECT_EQ(sig.outputs[0].name, "OUTPUT0");
  EXPECT_EQ(sig.outputs[1].name, "OUTPUT1");
}

TEST(OrtLoadTest, StringModelIsBytes) {
  auto model = LoadOrDie("string_upper.onnx");
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->signature().inputs[0].dtype, DataType::kBytes);
  EXPECT_EQ(model->signature().inputs[0].shape, (core::Shape{-1}));
  EXPECT_THAT(model->signature().inputs[0].dim_names, ElementsAre("n"));
  EXPECT_EQ(model->signature().outputs[0].dtype, DataType::kBytes);
}

TEST(OrtLoadTest, EveryIdentityModelMapsItsType) {
  const std::vector<std::pair<std::string, DataType>> types = {
      {"bool", DataType::kBool},     {"uint8", DataType::kUint8},   {"uint16", DataType::kUint16},
      {"uint32", DataType::kUint32}, {"uint64", DataType::kUint64}, {"int8", DataType::kInt8},
      {"int16", DataType::kInt16},   {"int32", DataType::kInt32},   {"int64", DataType::kInt64},
      {"fp16", DataType::kFp16},     {"bf16", DataType::kBf16},     {"fp32", DataType::kFp32},
      {"fp64", DataType::kFp64},     {"string", DataType::kBytes}};
  for (const auto& [name, type] : types) {
    auto model = LoadOrDie("identity_" + name + ".onnx");
    ASSERT_NE(model, nullptr) << name;
    EXPECT_EQ(model->signature().inputs[0].dtype, type) << name;
    EXPECT_EQ(model->signature().outputs[0].dtype, type) << name;
    EXPECT_EQ(model->signature().inputs[0].shape, (core::Shape{-1, -1})) << name;
  }
}

TEST(OrtLoadTest, EveryOptimisationLevelLoads) {
  for (const char* level : {"disable", "basic", "extended", "all"}) {
    core::RuntimeOptions options;
    options.graph_optimization_level = level;
    EXPECT_NE(LoadOrDie("mlp16.onnx", options), nullptr) << level;
  }
}

TEST(OrtLoadTest, UnknownOptimisationLevelIsNamed) {
  core::RuntimeOptions options;
  options.graph_optimization_level = "fastest";
  auto loaded = OrtTestBackend().Load(ModelPath("mlp16.onnx"), options);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("'fastest'"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("mlp16.onnx"));
}

TEST(OrtLoadTest, NegativeThreadCountsAreRefused) {
  core::RuntimeOptions options;
  options.intra_op_threads = -1;
  auto loaded = OrtTestBackend().Load(ModelPath("mlp16.onnx"), options);
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
  ort::OrtBackendOptions backend_options;
  backend_options.intra_op_threads = -2;
  EXPECT_EQ(ort::OrtBackend::Create(backend_options).status().code(), StatusCode::kInvalidArgument);
}

// Each broken file comes back as an error naming the file and the reason.
struct BadFile {
  std::string file;
  StatusCode code;
  std::string reason;
};
// Names the case in test listings (ctest shows it) instead of its bytes.
void PrintTo(const BadFile& bad, std::ostream* os) { *os << bad.file; }

class OrtBadFileTest : public ::testing::TestWithParam<BadFile> {};

TEST_P(OrtBadFileTest, IsRefusedWithTheFileAndTheReason) {
  const BadFile& bad = GetParam();
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  auto loaded = OrtTestBackend().Load(ModelPath(bad.file), {});
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), bad.code) << loaded.status().ToString();
  EXPECT_THAT(loaded.status().message(), HasSubstr(ModelPath(bad.file)));
  EXPECT_THAT(loaded.status().message(), HasSubstr(bad.reason));
  // No attempt to allocate what the file declares (peak RSS, in KiB).
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 100 * 1024);
}

INSTANTIATE_TEST_SUITE_P(
    CorruptFiles, OrtBadFileTest,
    ::testing::Values(
        BadFile{"corrupt_truncated.onnx", StatusCode::kInvalidArgument, "Protobuf parsing failed"},
        BadFile{"corrupt_not_onnx.onnx", StatusCode::kInvalidArgument, "Protobuf parsing failed"},
        BadFile{"unsupported_op.onnx", StatusCode::kInvalidArgument, "NoSuchOperator"},
        BadFile{"huge_dims.onnx", StatusCode::kInvalidArgument, "'huge'"},
        BadFile{"no_such_model.onnx", StatusCode::kNotFound, "No such file"}),
    [](const auto& test_info) {
      return test_info.param.file.substr(0, test_info.param.file.find('.'));
    });

TEST(OrtLoadTest, DirectoryAndEmptyFileAreRefused) {
  TempDir dir;
  auto loaded = OrtTestBackend().Load(dir.path(), {});
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr(dir.path().string()));
  auto empty = dir.Write("empty.onnx", "");
  loaded = OrtTestBackend().Load(empty, {});
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("empty.onnx"));
}

// A graph FP32 [1] -> Add(INPUT0, s) -> OUTPUT0 where `s` is a sparse
// initializer of dense shape `dims`: a few hundred bytes on disk.
std::string SparseBomb(const std::vector<int64_t>& dims) {
  onnx::GraphParts g;
  g.nodes.push_back(onnx::Node("Add", {"INPUT0", "s"}, {"OUTPUT0"}));
  g.inputs.push_back(onnx::ValueInfo("INPUT0", onnx::TensorType(onnx::kFloat, {1})));
  g.outputs.push_back(onnx::ValueInfo("OUTPUT0", onnx::TensorType(onnx::kFloat, dims)));
  g.sparse_initializers.push_back(onnx::SparseFloat("s", dims));
  return onnx::Model(onnx::Graph(g));
}

TEST(OrtLoadTest, SparseInitializersThatExpandPastTheLimitAreRefusedBeforeOrtSeesThem) {
  TempDir dir;
  // 1.6 GB dense: ORT 1.30 would allocate it (twice) while loading.
  auto file = dir.Write("sparse_bomb.onnx", SparseBomb({400000000}));
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  auto start = std::chrono::steady_clock::now();
  auto loaded = OrtTestBackend().Load(file, {});
  auto elapsed = std::chrono::steady_clock::now() - start;
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(loaded.status().message(), HasSubstr("sparse_bomb.onnx"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("sparse tensor 's'"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("1600000000 bytes"));
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 100 * 1024);
  EXPECT_LT(elapsed, std::chrono::seconds(1));

  auto huge = dir.Write("sparse_huge.onnx", SparseBomb({1000000000, 1000000}));
  loaded = OrtTestBackend().Load(huge, {});
  EXPECT_EQ(loaded.status().code(), StatusCode::kResourceExhausted);
}

// Three sparse initializers, each under the limit (1 GiB by default) when
// dense but over it together, are refused before ORT allocates any of them:
// the limit bounds what a model's sparse tensors expand to in total.
TEST(OrtLoadTest, SparseInitializersThatExpandPastTheLimitTogetherAreRefused) {
  TempDir dir;
  const int64_t n = 89500000;  // 358,000,000 bytes dense each, 1,074,000,000 together
  onnx::GraphParts g;
  g.nodes.push_back(onnx::Node("Add", {"INPUT0", "s0"}, {"t0"}));
  g.nodes.push_back(onnx::Node("Add", {"t0", "s1"}, {"t1"}));
  g.nodes.push_back(onnx::Node("Add", {"t1", "s2"}, {"OUTPUT0"}));
  g.inputs.push_back(onnx::ValueInfo("INPUT0", onnx::TensorType(onnx::kFloat, {1})));
  g.outputs.push_back(onnx::ValueInfo("OUTPUT0", onnx::TensorType(onnx::kFloat, {n})));
  for (const char* name : {"s0", "s1", "s2"}) g.sparse_initializers.push_back(onnx::SparseFloat(name, {n}));
  auto file = dir.Write("sparse_three.onnx", onnx::Model(onnx::Graph(g)));
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  auto loaded = OrtTestBackend().Load(file, {});
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(loaded.status().message(), HasSubstr("sparse_three.onnx"));
  EXPECT_THAT(loaded.status().message(),
              HasSubstr("3 sparse tensors expand to 1074000000 bytes in total when made dense, "
                        "over the limit of 1073741824 bytes"));
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 100 * 1024);
}

TEST(OrtLoadTest, SmallSparseInitializersLoadAndRun) {
  TempDir dir;
  auto file = dir.Write("sparse_small.onnx", SparseBomb({1}));
  auto loaded = OrtTestBackend().Load(file, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  std::vector<core::InferOutput> outputs;
  ASSERT_TRUE((*loaded)
                  ->Run({Input("INPUT0", core::Tensor::FromValues<float>(DataType::kFp32, {1}, {2.5f}))},
                        {}, &outputs)
                  .ok());
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].tensor.As<float>()[0], 2.5f);
}

// An Identity model over `elem_type` tensors named z -> OUTPUT0.
std::string IdentityOf(int elem_type, int64_t opset, int64_t ir_version) {
  onnx::GraphParts g;
  g.nodes.push_back(onnx::Node("Identity", {"z"}, {"OUTPUT0"}));
  g.inputs.push_back(onnx::ValueInfo("z", onnx::TensorType(elem_type, {-1})));
  g.outputs.push_back(onnx::ValueInfo("OUTPUT0", onnx::TensorType(elem_type, {-1})));
  return onnx::Model(onnx::Graph(g), {{"", opset}}, ir_version);
}

TEST(OrtLoadTest, TypeOrtLoadsButCoreCannotRepresentIsRefusedNamingTheInput) {
  TempDir dir;
  auto file = dir.Write("float8.onnx", IdentityOf(onnx::kFloat8E4M3FN, 19, 9));
  auto loaded = OrtTestBackend().Load(file, {});
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("float8.onnx"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("input 'z' has type tensor(float8e4m3fn)"));
}

TEST(OrtLoadTest, TypeOrtDoesNotSupportIsRefusedWithOrtsReason) {
  TempDir dir;
  auto file = dir.Write("complex.onnx", IdentityOf(onnx::kComplex64, 17, 8));
  auto loaded = OrtTestBackend().Load(file, {});
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("complex.onnx"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("complex64"));
}

TEST(OrtLoadTest, SequenceOutputIsRefusedNamingTheOutput) {
  TempDir dir;
  onnx::GraphParts g;
  g.nodes.push_back(onnx::Node("SequenceConstruct", {"INPUT0"}, {"seq"}));
  g.inputs.push_back(onnx::ValueInfo("INPUT0", onnx::TensorType(onnx::kFloat, {-1})));
  g.outputs.push_back(
      onnx::ValueInfo("seq", onnx::SequenceType(onnx::TensorType(onnx::kFloat, {-1}))));
  auto file = dir.Write("sequence.onnx", onnx::Model(onnx::Graph(g)));
  auto loaded = OrtTestBackend().Load(file, {});
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("sequence.onnx"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("output 'seq' is a sequence"));
}

TEST(OrtLoadTest, OpsetsOfOtherDomainsAreReported) {
  TempDir dir;
  onnx::GraphParts g;
  g.nodes.push_back(onnx::Node("Identity", {"INPUT0"}, {"OUTPUT0"}));
  g.inputs.push_back(onnx::ValueInfo("INPUT0", onnx::TensorType(onnx::kFloat, {-1}), "volts"));
  g.outputs.push_back(onnx::ValueInfo("OUTPUT0", onnx::TensorType(onnx::kFloat, {-1})));
  auto file = dir.Write("ml.onnx", onnx::Model(onnx::Graph(g), {{"", 15}, {"ai.onnx.ml", 3}}));
  auto loaded = OrtTestBackend().Load(file, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const auto& sig = (*loaded)->signature();
  EXPECT_EQ(sig.opsets, (std::map<std::string, int64_t>{{"", 15}, {"ai.onnx.ml", 3}}));
  EXPECT_EQ(sig.inputs[0].doc, "volts");
  EXPECT_EQ(sig.inputs[0].dim_names, (std::vector<std::string>{"d0"}));
  EXPECT_EQ(sig.producer_name, "infergate-tests");
  EXPECT_EQ(sig.producer_version, "2");
}

TEST(OrtLoadTest, ModelWithItsOwnThreadPoolRuns) {
  core::RuntimeOptions options;
  options.intra_op_threads = 1;
  auto model = LoadOrDie("add_sub.onnx", options);
  ASSERT_NE(model, nullptr);
  std::vector<core::InferOutput> outputs;
  auto a = core::Tensor::FromValues<float>(DataType::kFp32, {1, 4}, {1, 2, 3, 4});
  ASSERT_TRUE(model->Run({Input("INPUT0", a), Input("INPUT1", a)}, {}, &outputs).ok());
  EXPECT_EQ(outputs[0].tensor.As<float>()[3], 8.0f);
}

// A model file rewritten in place while it is loaded (as `cp new.onnx
// model.onnx` does while the repository is polled) fails that load with a
// reason; the scan before ORT never faults on pages the file lost.
TEST(OrtLoadTest, FileTruncatedWhileLoadingFailsTheLoadNotTheProcess) {
  TempDir dir;
  // Valid wire format all the way (ir_version, then many fields the scan
  // skips one by one), so the scan reads every page of the file.
  std::string model = "\x08\x08";
  const std::string field = std::string("\x9a\x06\x64", 3) + std::string(100, 'x');  // field 99, 100 bytes
  while (model.size() < (8u << 20)) model += field;
  const auto file = dir.Write("model.onnx", model);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    const int fd = ::open(file.c_str(), O_WRONLY);
    while (fd >= 0 && !stop.load()) {
      if (::ftruncate(fd, 0) != 0) break;
      if (::pwrite(fd, model.data(), model.size(), 0) != static_cast<ssize_t>(model.size())) break;
    }
    if (fd >= 0) ::close(fd);
  });
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  int loads = 0;
  while (std::chrono::steady_clock::now() < until) {
    auto loaded = OrtTestBackend().Load(file, {});
    EXPECT_FALSE(loaded.ok());  // no graph: refused, with the file named
    if (!loaded.ok()) {
      EXPECT_THAT(loaded.status().message(), HasSubstr(file.string()));
    }
    ++loads;
  }
  stop = true;
  writer.join();
  EXPECT_GT(loads, 0);
}

}  // namespace
}  // namespace infergate::testing

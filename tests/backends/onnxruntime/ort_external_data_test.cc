// A model file from an untrusted source must not reach files outside its own
// folder through ONNX external data (weights stored beside the model). ONNX
// Runtime checks this itself; these tests hold every runtime upgrade to it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "backends/onnxruntime/onnx_writer.h"
#include "backends/onnxruntime/ort_test_util.h"
#include "testing/temp_dir.h"

namespace infergate::testing {
namespace {

using ::testing::HasSubstr;
using core::DataType;

// FP32 [4] -> Add(INPUT0, w) -> OUTPUT0, with w's 4 floats at `location`.
std::string AddExternal(const std::string& location) {
  onnx::GraphParts g;
  g.nodes.push_back(onnx::Node("Add", {"INPUT0", "w"}, {"OUTPUT0"}));
  g.inputs.push_back(onnx::ValueInfo("INPUT0", onnx::TensorType(onnx::kFloat, {4})));
  g.outputs.push_back(onnx::ValueInfo("OUTPUT0", onnx::TensorType(onnx::kFloat, {4})));
  g.initializers.push_back(onnx::ExternalFloatTensor("w", 4, location));
  return onnx::Model(onnx::Graph(g));
}

const std::string kWeights = [] {
  const float w[4] = {1.0f, 2.0f, 3.0f, 4.0f};
  return std::string(reinterpret_cast<const char*>(w), sizeof(w));
}();

TEST(OrtExternalDataTest, WeightsBesideTheModelLoadAndRun) {
  TempDir dir;
  dir.Write("m/1/w.bin", kWeights);
  auto loaded = OrtTestBackend().Load(dir.Write("m/1/model.onnx", AddExternal("w.bin")), {});
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  std::vector<core::InferOutput> outputs;
  ASSERT_TRUE((*loaded)
                  ->Run({Input("INPUT0", core::Tensor::FromValues<float>(DataType::kFp32, {4}, {0, 0, 0, 10}))},
                        {}, &outputs)
                  .ok());
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].tensor.As<float>()[3], 14.0f);
}

TEST(OrtExternalDataTest, APathOutOfTheModelsFolderIsRefused) {
  TempDir dir;
  dir.Write("secret.bin", kWeights);
  auto loaded = OrtTestBackend().Load(dir.Write("m/1/model.onnx", AddExternal("../../secret.bin")), {});
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("escapes model directory"));
  auto absolute = OrtTestBackend().Load(
      dir.Write("a/1/model.onnx", AddExternal((dir.path() / "secret.bin").string())), {});
  EXPECT_FALSE(absolute.ok());
}

TEST(OrtExternalDataTest, ASymlinkOutOfTheModelsFolderIsRefused) {
  TempDir dir;
  dir.Write("secret.bin", kWeights);
  dir.Write("m/1/.keep", "");
  std::filesystem::create_symlink(dir.path() / "secret.bin", dir.path() / "m/1/w.bin");
  auto loaded = OrtTestBackend().Load(dir.Write("m/1/model.onnx", AddExternal("w.bin")), {});
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("escapes model directory"));
}

}  // namespace
}  // namespace infergate::testing

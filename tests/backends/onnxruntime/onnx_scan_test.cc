#include "backends/onnxruntime/onnx_scan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "backends/onnxruntime/file_byte_source.h"
#include "backends/onnxruntime/onnx_writer.h"
#include "backends/onnxruntime/ort_test_util.h"
#include "testing/temp_dir.h"

namespace infergate::ort {
namespace {

namespace onnx = testing::onnx;
using ::testing::HasSubstr;
using testing::ProtoWriter;
using testing::TempDir;

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A minimal valid graph: INPUT0 -> Identity -> OUTPUT0, FP32 [batch, 4].
onnx::GraphParts IdentityGraph() {
  onnx::GraphParts g;
  g.nodes.push_back(onnx::Node("Identity", {"INPUT0"}, {"OUTPUT0"}));
  g.inputs.push_back(onnx::ValueInfo("INPUT0", onnx::TensorType(onnx::kFloat, {-1, 4}), "raw readings"));
  g.outputs.push_back(onnx::ValueInfo("OUTPUT0", onnx::TensorType(onnx::kFloat, {-1, 4})));
  return g;
}

TEST(OnnxScanTest, ReadsOpsetsAndProducerVersionOfATestModel) {
  auto bytes = ReadFile(testing::ModelPath("mlp16.onnx"));
  OnnxFileFacts facts = ScanOnnxModel(bytes);
  EXPECT_TRUE(facts.well_formed);
  EXPECT_EQ(facts.ir_version, 8);
  EXPECT_EQ(facts.producer_version, "1");
  EXPECT_EQ(facts.opsets, (std::map<std::string, int64_t>{{"", 17}}));
  EXPECT_FALSE(facts.has_sparse);
}

TEST(OnnxScanTest, ReadsSeveralOpsetDomainsAndNormalisesAiOnnx) {
  std::string model = onnx::Model(onnx::Graph(IdentityGraph()),
                                  {{"ai.onnx", 13}, {"ai.onnx.ml", 3}, {"com.example", 1}});
  OnnxFileFacts facts = ScanOnnxModel(AsBytes(model));
  EXPECT_TRUE(facts.well_formed);
  EXPECT_EQ(facts.opsets,
            (std::map<std::string, int64_t>{{"", 13}, {"ai.onnx.ml", 3}, {"com.example", 1}}));
  EXPECT_EQ(facts.producer_version, "2");
}

TEST(OnnxScanTest, ReadsDocStringsOfTheMainGraphsInputsAndOutputs) {
  std::string model = onnx::Model(onnx::Graph(IdentityGraph()));
  OnnxFileFacts facts = ScanOnnxModel(AsBytes(model));
  EXPECT_EQ(facts.input_docs, (std::map<std::string, std::string>{{"INPUT0", "raw readings"}}));
  EXPECT_TRUE(facts.output_docs.empty());
}

TEST(OnnxScanTest, FindsTheLargestSparseInitializer) {
  onnx::GraphParts g = IdentityGraph();
  g.sparse_initializers.push_back(onnx::SparseFloat("small", {10, 10}));
  g.sparse_initializers.push_back(onnx::SparseFloat("big", {1000, 2000}, /*packed_dims=*/true));
  g.sparse_initializers.push_back(onnx::SparseFloat("medium", {100, 100}));
  OnnxFileFacts facts = ScanOnnxModel(AsBytes(onnx::Model(onnx::Graph(g))));
  EXPECT_TRUE(facts.well_formed);
  ASSERT_TRUE(facts.has_sparse);
  EXPECT_EQ(facts.largest_sparse.name, "big");
  EXPECT_EQ(facts.largest_sparse.data_type, onnx::kFloat);
  EXPECT_EQ(facts.largest_sparse.dims, (std::vector<int64_t>{1000, 2000}));
  EXPECT_EQ(facts.largest_sparse.dense_bytes, 1000u * 2000u * 4u);
  EXPECT_EQ(facts.sparse_count, 3u);
  EXPECT_EQ(facts.sparse_dense_bytes_total, (100u + 1000u * 2000u + 10000u) * 4u);
}

TEST(OnnxScanTest, FindsSparseConstantValuesInsideSubgraphs) {
  // If node whose then_branch holds a Constant with a sparse_value.
  ProtoWriter sparse_attr;
  sparse_attr.Bytes(1, "sparse_value").Varint(20, 11).Message(22, onnx::SparseFloat("hidden", {1 << 20, 1 << 10}));
  onnx::GraphParts branch;
  branch.name = "then";
  branch.nodes.push_back(onnx::Node("Constant", {}, {"c"}, {sparse_attr}));
  branch.outputs.push_back(onnx::ValueInfo("c", onnx::TensorType(onnx::kFloat, {-1, -1})));
  ProtoWriter then_attr;
  then_attr.Bytes(1, "then_branch").Varint(20, 5).Message(6, onnx::Graph(branch));
  onnx::GraphParts g = IdentityGraph();
  g.nodes.push_back(onnx::Node("If", {"cond"}, {"x"}, {then_attr}));
  OnnxFileFacts facts = ScanOnnxModel(AsBytes(onnx::Model(onnx::Graph(g))));
  EXPECT_TRUE(facts.well_formed);
  ASSERT_TRUE(facts.has_sparse);
  EXPECT_EQ(facts.largest_sparse.name, "hidden");
  EXPECT_EQ(facts.largest_sparse.dense_bytes, uint64_t{1} << 32);
}

TEST(OnnxScanTest, OverflowingOrNegativeSparseDimsSaturate) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  for (const auto& dims : {std::vector<int64_t>{int64_t{1} << 40, int64_t{1} << 40},
                           std::vector<int64_t>{-5, 4}}) {
    onnx::GraphParts g = IdentityGraph();
    g.sparse_initializers.push_back(onnx::SparseFloat("s", dims));
    OnnxFileFacts facts = ScanOnnxModel(AsBytes(onnx::Model(onnx::Graph(g))));
    ASSERT_TRUE(facts.has_sparse);
    EXPECT_EQ(facts.largest_sparse.dense_bytes, kMax);
    EXPECT_EQ(facts.sparse_dense_bytes_total, kMax);
  }
}

TEST(OnnxScanTest, EveryTruncationOfAModelIsReadSafely) {
  auto bytes = ReadFile(testing::ModelPath("mlp16.onnx"));
  ASSERT_FALSE(bytes.empty());
  for (size_t n = 0; n < bytes.size(); ++n) {
    OnnxFileFacts facts = ScanOnnxModel(std::span<const uint8_t>(bytes.data(), n));
    // Only a cut exactly between two top-level fields still parses.
    if (facts.well_formed) {
      EXPECT_LE(facts.opsets.size(), 1u);
    } else {
      EXPECT_THAT(facts.malformed, HasSubstr("byte ")) << n;
    }
  }
}

TEST(OnnxScanTest, RandomBytesAndFlippedBytesAreReadSafely) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int round = 0; round < 2000; ++round) {
    std::vector<uint8_t> junk(static_cast<size_t>(round % 300));
    for (auto& b : junk) b = static_cast<uint8_t>(byte(rng));
    ScanOnnxModel(junk);
  }
  auto bytes = ReadFile(testing::ModelPath("add_sub.onnx"));
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto copy = bytes;
    copy[i] ^= 0xFF;
    ScanOnnxModel(copy);
  }
}

TEST(OnnxScanTest, TextIsNotWellFormed) {
  auto bytes = ReadFile(testing::ModelPath("corrupt_not_onnx.onnx"));
  OnnxFileFacts facts = ScanOnnxModel(bytes);
  EXPECT_FALSE(facts.well_formed);
}

TEST(OnnxScanTest, NestingDeeperThanTheLimitStopsTheScanWithoutOverflowingTheStack) {
  ProtoWriter graph = onnx::Graph(IdentityGraph());
  for (int depth = 0; depth < 300; ++depth) {
    ProtoWriter attr;
    attr.Bytes(1, "body").Varint(20, 5).Message(6, graph);
    onnx::GraphParts outer;
    outer.nodes.push_back(onnx::Node("Loop", {}, {}, {attr}));
    graph = onnx::Graph(outer);
  }
  OnnxFileFacts facts = ScanOnnxModel(AsBytes(onnx::Model(graph)));
  EXPECT_FALSE(facts.well_formed);
}

TEST(OnnxScanTest, EmptyInputIsAnEmptyModel) {
  OnnxFileFacts facts = ScanOnnxModel({});
  EXPECT_TRUE(facts.well_formed);
  EXPECT_TRUE(facts.opsets.empty());
}

core::StatusOr<OnnxFileFacts> ScanFile(const std::filesystem::path& file,
                                        uint64_t* bytes_read = nullptr) {
  ASSIGN_OR_RETURN(std::unique_ptr<FileByteSource> source, FileByteSource::Open(file));
  core::StatusOr<OnnxFileFacts> facts = ScanOnnxModel(*source);
  if (bytes_read != nullptr) *bytes_read = source->bytes_read();
  return facts;
}

TEST(OnnxScanTest, AFileScanFindsWhatAMemoryScanFinds) {
  for (const char* model : {"mlp16.onnx", "add_sub.onnx", "string_upper.onnx", "running_mean.onnx",
                            "corrupt_truncated.onnx", "corrupt_not_onnx.onnx"}) {
    OnnxFileFacts in_memory = ScanOnnxModel(ReadFile(testing::ModelPath(model)));
    auto from_file = ScanFile(testing::ModelPath(model));
    ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
    EXPECT_EQ(from_file->well_formed, in_memory.well_formed) << model;
    EXPECT_EQ(from_file->malformed, in_memory.malformed) << model;
    EXPECT_EQ(from_file->ir_version, in_memory.ir_version) << model;
    EXPECT_EQ(from_file->producer_version, in_memory.producer_version) << model;
    EXPECT_EQ(from_file->opsets, in_memory.opsets) << model;
    EXPECT_EQ(from_file->input_docs, in_memory.input_docs) << model;
    EXPECT_EQ(from_file->output_docs, in_memory.output_docs) << model;
  }
}

TEST(OnnxScanTest, AFileCutMidFieldIsMalformedWithTheOffsetAndTheReason) {
  // The first 60 % of mlp16.onnx: the graph field declares more bytes than are left.
  auto facts = ScanFile(testing::ModelPath("corrupt_truncated.onnx"));
  ASSERT_TRUE(facts.ok()) << facts.status().ToString();
  EXPECT_FALSE(facts->well_formed);
  EXPECT_THAT(facts->malformed,
              ::testing::MatchesRegex("byte [0-9]+: a field of [0-9]+ bytes runs past the end of "
                                      "its message \\([0-9]+ bytes left\\)"));
}

TEST(OnnxScanTest, ALargeModelIsScannedWithoutReadingItsWeights) {
  TempDir dir;
  const auto file = dir.path() / "large.onnx";
  onnx::GraphParts g = IdentityGraph();
  g.sparse_initializers.push_back(onnx::SparseFloat("after_the_weights", {1000, 1000}));
  {
    std::ofstream out(file, std::ios::binary);
    // 101 tensors of 1 MiB.
    onnx::WriteModelWithWeights(out, g, 101, int64_t{1} << 18, {{"", 17}, {"ai.onnx.ml", 3}});
  }
  ASSERT_GT(std::filesystem::file_size(file), uint64_t{100} << 20);
  uint64_t bytes_read = 0;
  auto facts = ScanFile(file, &bytes_read);
  ASSERT_TRUE(facts.ok()) << facts.status().ToString();
  EXPECT_TRUE(facts->well_formed) << facts->malformed;
  EXPECT_EQ(facts->opsets, (std::map<std::string, int64_t>{{"", 17}, {"ai.onnx.ml", 3}}));
  EXPECT_EQ(facts->input_docs, (std::map<std::string, std::string>{{"INPUT0", "raw readings"}}));
  ASSERT_TRUE(facts->has_sparse);
  EXPECT_EQ(facts->largest_sparse.name, "after_the_weights");
  EXPECT_LT(bytes_read, uint64_t{1} << 20);
}

// Bytes in memory that fail every read reaching past `limit`, as a file that
// shrank there would.
class ShrunkSource final : public ByteSource {
 public:
  ShrunkSource(std::span<const uint8_t> bytes, uint64_t limit) : memory_(bytes), limit_(limit) {}
  uint64_t size() const override { return memory_.size(); }
  core::Status Read(uint64_t offset, size_t n, uint8_t* out) override {
    if (offset + n > limit_) return core::InvalidArgument("gone at byte " + std::to_string(limit_));
    return memory_.Read(offset, n, out);
  }

 private:
  MemoryByteSource memory_;
  uint64_t limit_;
};

TEST(OnnxScanTest, ASourceThatFailsAnywhereFailsTheScanWithItsError) {
  auto bytes = ReadFile(testing::ModelPath("mlp16.onnx"));
  const OnnxFileFacts whole = ScanOnnxModel(bytes);
  ASSERT_TRUE(whole.well_formed);
  // Up to the last byte the scan reads, every cut fails the scan with the
  // source's error; from there on (fields it skips) the scan does not notice.
  bool seen_ok = false;
  for (uint64_t limit = 0; limit <= bytes.size(); ++limit) {
    ShrunkSource source(bytes, limit);
    core::StatusOr<OnnxFileFacts> facts = ScanOnnxModel(source);
    if (!facts.ok()) {
      ASSERT_FALSE(seen_ok) << limit;
      EXPECT_EQ(facts.status().message(), "gone at byte " + std::to_string(limit));
      continue;
    }
    seen_ok = true;
    EXPECT_TRUE(facts->well_formed) << limit;
    EXPECT_EQ(facts->opsets, whole.opsets) << limit;
  }
  EXPECT_FALSE(ScanOnnxModel(*std::make_unique<ShrunkSource>(bytes, 0)).ok());
}

}  // namespace
}  // namespace infergate::ort

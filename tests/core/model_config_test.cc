#include "core/model_config.h"

#include <gtest/gtest.h>

namespace infergate::core {
namespace {

ModelSignature BatchedSignature() {
  ModelSignature s;
  s.inputs.push_back({"x", DataType::kFp32, {-1, 16}, {"batch", ""}, {}});
  s.outputs.push_back({"y", DataType::kFp32, {-1, 4}, {"batch", ""}, {}});
  return s;
}

TEST(ModelConfigTest, FillsEverythingFromTheSignature) {
  ModelConfig c;
  c.name = "m";
  ASSERT_TRUE(CompleteConfig(BatchedSignature(), &c).ok());
  EXPECT_EQ(c.max_batch_size, kDefaultMaxBatchSize);
  ASSERT_EQ(c.inputs.size(), 1u);
  EXPECT_EQ(c.inputs[0].dims, (Shape{16}));
  EXPECT_EQ(c.outputs[0].dims, (Shape{4}));
  EXPECT_TRUE(c.autofilled.count("max_batch_size"));
  EXPECT_TRUE(c.autofilled.count("input"));
  EXPECT_TRUE(c.autofilled.count("input.x"));
  auto specs = RequestInputSpecs(c);
  EXPECT_EQ(specs[0].shape, (Shape{-1, 16}));
}

TEST(ModelConfigTest, FixedShapeModelDoesNotBatch) {
  ModelSignature s;
  s.inputs.push_back({"x", DataType::kFp32, {1, 16}, {}, {}});
  s.outputs.push_back({"y", DataType::kFp32, {1, 4}, {}, {}});
  ModelConfig c;
  ASSERT_TRUE(CompleteConfig(s, &c).ok());
  EXPECT_EQ(c.max_batch_size, 0);
  EXPECT_EQ(c.inputs[0].dims, (Shape{1, 16}));
  ModelConfig wants_batching;
  wants_batching.max_batch_size = 8;
  Status st = CompleteConfig(s, &wants_batching);
  EXPECT_NE(st.message().find("max_batch_size: 0"), std::string::npos) << st.message();
}

TEST(ModelConfigTest, ConfiguredTensorsAreChecked) {
  ModelConfig c;
  c.inputs.push_back({"nope", DataType::kFp32, {16}});
  Status st = CompleteConfig(BatchedSignature(), &c);
  EXPECT_NE(st.message().find("input 'nope' is not in the model"), std::string::npos) << st.message();

  ModelConfig wrong_type;
  wrong_type.inputs.push_back({"x", DataType::kInt64, {16}});
  st = CompleteConfig(BatchedSignature(), &wrong_type);
  EXPECT_NE(st.message().find("INT64"), std::string::npos) << st.message();

  ModelConfig wrong_dims;
  wrong_dims.inputs.push_back({"x", DataType::kFp32, {15}});
  st = CompleteConfig(BatchedSignature(), &wrong_dims);
  EXPECT_NE(st.message().find("dims [15]"), std::string::npos) << st.message();

  ModelConfig partial;
  partial.inputs.push_back({"x", DataType::kInvalid, {}});
  ASSERT_TRUE(CompleteConfig(BatchedSignature(), &partial).ok());
  EXPECT_EQ(partial.inputs[0].dtype, DataType::kFp32);
  EXPECT_TRUE(partial.autofilled.count("input.x.dims"));
  EXPECT_FALSE(partial.autofilled.count("input"));
}

TEST(VersionPolicyTest, Select) {
  VersionPolicy p;
  EXPECT_EQ(p.Select({3, 1, 2}), (std::vector<int64_t>{3}));
  p.latest = 2;
  EXPECT_EQ(p.Select({3, 1, 2}), (std::vector<int64_t>{2, 3}));
  p.kind = VersionPolicy::Kind::kAll;
  EXPECT_EQ(p.Select({3, 1, 2}), (std::vector<int64_t>{1, 2, 3}));
  p.kind = VersionPolicy::Kind::kSpecific;
  p.specific = {1, 5};
  EXPECT_EQ(p.Select({3, 1, 2}), (std::vector<int64_t>{1}));
}

TEST(ValidateInputsTest, NamesTheInput) {
  std::vector<TensorSpec> specs = {{"x", DataType::kFp32, {-1, 2}, {}, {}}};
  auto ok = Tensor::FromValues<float>(DataType::kFp32, {1, 2}, {1, 2});
  EXPECT_TRUE(ValidateInputs(specs, {{"x", ok, {}}}).ok());
  EXPECT_NE(ValidateInputs(specs, {{"z", ok, {}}}).message().find("unknown input 'z'"), std::string::npos);
  EXPECT_NE(ValidateInputs(specs, {}).message().find("missing input 'x'"), std::string::npos);
  EXPECT_NE(ValidateInputs(specs, {{"x", ok, {}}, {"x", ok, {}}}).message().find("more than once"),
            std::string::npos);
  auto i64 = Tensor::FromValues<int64_t>(DataType::kInt64, {1, 2}, {1, 2});
  EXPECT_NE(ValidateInputs(specs, {{"x", i64, {}}}).message().find("input 'x' has datatype INT64"),
            std::string::npos);
  auto wide = Tensor::FromValues<float>(DataType::kFp32, {1, 3}, {1, 2, 3});
  EXPECT_NE(ValidateInputs(specs, {{"x", wide, {}}}).message().find("input 'x' has shape [1,3]"),
            std::string::npos);
}

}  // namespace
}  // namespace infergate::core

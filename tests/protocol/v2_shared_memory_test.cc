// The v2 codec with Triton's system shared memory parameters: inputs copied
// out of a registered region, outputs written into one.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "protocol/v2_json.h"
#include "testing/shm_object.h"

namespace infergate::protocol {
namespace {

using core::DataType;
using core::StatusCode;
using testing::ShmObject;

class V2SharedMemoryTest : public ::testing::Test {
 protected:
  V2SharedMemoryTest() : object_(4096) {
    const float values[] = {1, 2, 3, 4, 5, 6};
    object_.Write(64, values, 6);
    EXPECT_TRUE(registry_.Register("in", object_.key(), 0, 1024).ok());
    EXPECT_TRUE(registry_.Register("out", object_.key(), 2048, 2048).ok());
    decoder_.set_shared_memory(&registry_);
  }

  core::StatusOr<core::InferRequest> Decode(const std::string& json) {
    core::InferRequest r;
    RETURN_IF_ERROR(decoder_.Decode(json, json.size(), nullptr, &r));
    return r;
  }

  ShmObject object_;
  core::SharedMemoryRegistry registry_;
  InferRequestDecoder decoder_;
};

// The input is copied out of the region when the request is decoded: a
// mapping the client may truncate at any moment is never handed on.
TEST_F(V2SharedMemoryTest, InputIsCopiedOutOfTheRegion) {
  auto r = Decode(R"({"inputs":[{"name":"x","datatype":"FP32","shape":[2,3],"parameters":
    {"shared_memory_region":"in","shared_memory_offset":64,"shared_memory_byte_size":24}}]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const core::Tensor& t = r->inputs[0].tensor;
  EXPECT_EQ(t.shape(), (core::Shape{2, 3}));
  EXPECT_EQ(t.As<float>()[5], 6.0f);
  const float seven = 7;
  object_.Write(64, &seven, 1);
  EXPECT_EQ(t.As<float>()[0], 1.0f);
  object_.Resize(0);  // the client truncates the object: the tensor is unaffected
  registry_.UnregisterAll();
  EXPECT_EQ(t.As<float>()[5], 6.0f);
}

TEST_F(V2SharedMemoryTest, MisalignedInputIsCopied) {
  auto r = Decode(R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":
    {"shared_memory_region":"in","shared_memory_offset":65,"shared_memory_byte_size":4}}]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(std::memcmp(r->inputs[0].tensor.data(), object_.data() + 65, 4), 0);
  object_.data()[65] ^= 0xFF;  // a copy does not see later writes
  EXPECT_NE(std::memcmp(r->inputs[0].tensor.data(), object_.data() + 65, 4), 0);
}

TEST_F(V2SharedMemoryTest, RefusesWhatDoesNotAddUp) {
  struct Case {
    const char* params;
    const char* message;
  } cases[] = {
      {R"("shared_memory_region":"in")", "needs both"},
      {R"("shared_memory_byte_size":24)", "needs both"},
      {R"("shared_memory_region":"in","shared_memory_byte_size":-1)", "non-negative"},
      {R"("shared_memory_region":7,"shared_memory_byte_size":24)", "non-empty string"},
      {R"("shared_memory_region":"in","shared_memory_byte_size":24,"shared_memory_offset":"0")", "non-negative"},
      {R"("shared_memory_region":"gone","shared_memory_byte_size":24)", "no shared memory region 'gone'"},
      {R"("shared_memory_region":"in","shared_memory_byte_size":24,"shared_memory_offset":1020)", "past the end"},
      {R"("shared_memory_region":"in","shared_memory_byte_size":20)", "input 'x'"},  // 5 floats for 6
      // Checked before the window is copied out of the region.
      {R"("shared_memory_region":"in","shared_memory_byte_size":1024)",
       "holds 6 FP32 elements of 4 bytes, but shared_memory_byte_size is 1024"},
      {R"("shared_memory_region":"in","shared_memory_byte_size":24,"binary_data_size":24)", "both"},
  };
  for (const auto& c : cases) {
    auto st = Decode(std::string(R"({"inputs":[{"name":"x","datatype":"FP32","shape":[2,3],"parameters":{)") +
                     c.params + "}}]}")
                  .status();
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.params << ": " << st.ToString();
    EXPECT_NE(st.message().find(c.message), std::string::npos) << c.params << ": " << st.message();
  }
  auto both = Decode(R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1],"parameters":
    {"shared_memory_region":"in","shared_memory_byte_size":4}}]})");
  EXPECT_NE(both.status().message().find("both 'data'"), std::string::npos) << both.status().message();
}

TEST_F(V2SharedMemoryTest, DisabledWithoutARegistry) {
  InferRequestDecoder plain;
  const std::string json = R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":
    {"shared_memory_region":"in","shared_memory_byte_size":4}}]})";
  core::InferRequest r;
  auto st = plain.Decode(json, json.size(), nullptr, &r);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("disabled"), std::string::npos) << st.message();
}

TEST_F(V2SharedMemoryTest, OutputIsWrittenToTheRegion) {
  auto r = Decode(R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[0]}],
    "outputs":[{"name":"y","parameters":{"shared_memory_region":"out","shared_memory_offset":16,
      "shared_memory_byte_size":64}},{"name":"z"}]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->outputs[0].destination.has_value());
  EXPECT_FALSE(r->outputs[1].destination.has_value());
  const OutputEncoding encoding = OutputEncoding::ForRequest(*r);
  r = core::InferRequest();
  registry_.UnregisterAll();  // the encoding keeps the mapping

  core::InferResponse response;
  response.model_name = "m";
  response.model_version = 1;
  response.outputs.push_back(
      {"y", core::Tensor::FromValues<int64_t>(DataType::kInt64, {1, 2}, {7, -9}), {}});
  response.outputs.push_back({"z", core::Tensor::FromValues<int32_t>(DataType::kInt32, {1}, {5}), {}});
  EncodedBody out;
  ASSERT_TRUE(EncodeInferResponse(response, encoding, &out).ok());
  int64_t written[2];
  std::memcpy(written, object_.data() + 2048 + 16, sizeof(written));
  EXPECT_EQ(written[0], 7);
  EXPECT_EQ(written[1], -9);
  auto j = nlohmann::json::parse(out.body);
  const auto& y = j["outputs"][0];
  EXPECT_FALSE(y.contains("data"));
  EXPECT_EQ(y["parameters"]["shared_memory_region"], "out");
  EXPECT_EQ(y["parameters"]["shared_memory_byte_size"], 16);
  EXPECT_EQ(y["shape"], nlohmann::json::array({1, 2}));
  EXPECT_EQ(j["outputs"][1]["data"], nlohmann::json::array({5}));  // the other one as usual
}

TEST_F(V2SharedMemoryTest, OutputLargerThanItsWindowIsAnError) {
  auto r = Decode(R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[0]}],
    "outputs":[{"name":"y","parameters":{"shared_memory_region":"out","shared_memory_byte_size":8}}]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  core::InferResponse response;
  response.outputs.push_back(
      {"y", core::Tensor::FromValues<int64_t>(DataType::kInt64, {2}, {1, 2}), {}});
  object_.data()[2048] = 0xAB;
  EncodedBody out;
  auto st = EncodeInferResponse(response, OutputEncoding::ForRequest(*r), &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("output 'y' is 16 bytes"), std::string::npos) << st.message();
  EXPECT_EQ(object_.data()[2048], 0xAB);  // nothing written
}

TEST_F(V2SharedMemoryTest, OutputRegionMustExist) {
  auto st = Decode(R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[0]}],
    "outputs":[{"name":"y","parameters":{"shared_memory_region":"nope","shared_memory_byte_size":8}}]})")
                .status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("output 'y'"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace infergate::protocol

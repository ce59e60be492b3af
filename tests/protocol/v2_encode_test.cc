#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "protocol/v2_json.h"

namespace infergate::protocol {
namespace {

using core::DataType;
using core::Tensor;

core::InferResponse MakeResponse() {
  core::InferResponse r;
  r.model_name = "m";
  r.model_version = 3;
  r.id = "req-1";
  r.outputs.push_back({"y", Tensor::FromValues<float>(DataType::kFp32, {1, 3}, {0.1f, -2.0f, 3.5f}), {}});
  r.outputs.push_back({"s", Tensor::FromStrings({"a\"b", "\xc3\xa9"}), {}});
  return r;
}

TEST(V2EncodeTest, JsonOutputs) {
  EncodedBody out;
  ASSERT_TRUE(EncodeInferResponse(MakeResponse(), OutputEncoding(), &out).ok());
  EXPECT_EQ(out.json_length, out.body.size());
  EXPECT_EQ(out.body,
            R"({"model_name":"m","model_version":"3","id":"req-1","outputs":[)"
            R"({"name":"y","datatype":"FP32","shape":[1,3],"data":[0.1,-2,3.5]},)"
            R"({"name":"s","datatype":"BYTES","shape":[2],"data":["a\"b","é"]}]})");
}

TEST(V2EncodeTest, BinaryOutputsFollowTheJson) {
  OutputEncoding encoding;
  encoding.set_binary_default(true);
  encoding.set_binary("s", false);
  EncodedBody out;
  ASSERT_TRUE(EncodeInferResponse(MakeResponse(), encoding, &out).ok());
  ASSERT_EQ(out.body.size(), out.json_length + 12);
  auto json = nlohmann::json::parse(out.body.substr(0, out.json_length));
  EXPECT_EQ(json["outputs"][0]["parameters"]["binary_data_size"], 12);
  EXPECT_FALSE(json["outputs"][0].contains("data"));
  EXPECT_EQ(json["outputs"][1]["data"][1], "\xc3\xa9");
  float values[3];
  std::memcpy(values, out.body.data() + out.json_length, sizeof(values));
  EXPECT_EQ(values[0], 0.1f);
  EXPECT_EQ(values[2], 3.5f);
}

TEST(V2EncodeTest, EveryDatatypeRoundTrips) {
  for (DataType type : core::kAllDataTypes) {
    std::string data = "[1,0]";
    if (type == DataType::kBool) data = "[true,false]";
    if (type == DataType::kBytes) data = R"(["1","0"])";
    const std::string name(DataTypeName(type));
    std::string request = R"({"inputs":[{"name":"x","shape":[2],"datatype":")" + name +
                          R"(","data":)" + data + "}]}";
    core::InferRequest decoded;
    ASSERT_TRUE(DecodeInferRequest(request, request.size(), nullptr, &decoded).ok()) << name;
    core::InferResponse response;
    response.model_name = "m";
    response.model_version = 1;
    response.outputs.push_back({"x", decoded.inputs[0].tensor, {}});
    EncodedBody out;
    ASSERT_TRUE(EncodeInferResponse(response, OutputEncoding(), &out).ok()) << name;
    EXPECT_EQ(out.body, R"({"model_name":"m","model_version":"1","outputs":[{"name":"x","datatype":")" +
                            name + R"(","shape":[2],"data":)" + data + "}]}");
  }
}

TEST(V2EncodeTest, ParametersAndMalformedOutputs) {
  core::InferResponse r;
  r.model_name = "m";
  r.model_version = 1;
  r.parameters["sequence_end"] = true;
  r.parameters["n"] = int64_t{2};
  r.outputs.push_back({"y", Tensor::FromValues<int32_t>(DataType::kInt32, {1}, {7}), {}});
  r.outputs.back().parameters["note"] = std::string("ok");
  EncodedBody out;
  ASSERT_TRUE(EncodeInferResponse(r, OutputEncoding(), &out).ok());
  auto json = nlohmann::json::parse(out.body);
  EXPECT_EQ(json["parameters"]["sequence_end"], true);
  EXPECT_EQ(json["parameters"]["n"], 2);
  EXPECT_EQ(json["outputs"][0]["parameters"]["note"], "ok");

  r.outputs.back().tensor = Tensor::FromValues<int32_t>(DataType::kInt32, {2}, {7});
  auto st = EncodeInferResponse(r, OutputEncoding(), &out);
  EXPECT_EQ(st.code(), core::StatusCode::kInternal);
  EXPECT_NE(st.message().find("output 'y'"), std::string::npos) << st.message();
}

TEST(V2EncodeTest, ErrorBody) {
  EXPECT_EQ(EncodeError("unknown model 'a\"b'"), R"({"error":"unknown model 'a\"b'"})");
}

}  // namespace
}  // namespace infergate::protocol

// The ModelInfer codec without a socket: typed and raw contents for every
// datatype, limits, and the errors a malformed request gets.
#include "frontends/grpc/codec.h"

#include <gtest/gtest.h>

#include <cstring>

namespace infergate::grpc_frontend {
namespace {

using core::DataType;
using core::StatusCode;

inference::ModelInferRequest OneInput(const std::string& datatype, std::vector<int64_t> shape) {
  inference::ModelInferRequest r;
  r.set_model_name("m");
  auto* in = r.add_inputs();
  in->set_name("x");
  in->set_datatype(datatype);
  for (int64_t d : shape) in->add_shape(d);
  return r;
}

core::Status Decode(const inference::ModelInferRequest& r, core::InferRequest* out, InputLimits limits = {}) {
  return DecodeInferRequest(r, limits, nullptr, out);
}

TEST(GrpcCodecTest, TypedContentsOfEveryDatatypeRoundTrip) {
  struct Case {
    const char* name;
    DataType type;
    std::function<void(inference::InferTensorContents*)> fill;
    std::vector<uint8_t> bytes;  // expected little-endian layout
  };
  auto le = [](auto... v) {
    std::vector<uint8_t> out;
    (
        [&] {
          uint8_t b[sizeof(v)];
          std::memcpy(b, &v, sizeof(v));
          out.insert(out.end(), b, b + sizeof(v));
        }(),
        ...);
    return out;
  };
  std::vector<Case> cases = {
      {"BOOL", DataType::kBool, [](auto* c) { c->add_bool_contents(true); c->add_bool_contents(false); }, {1, 0}},
      {"INT8", DataType::kInt8, [](auto* c) { c->add_int_contents(-128); c->add_int_contents(127); },
       le(int8_t{-128}, int8_t{127})},
      {"INT16", DataType::kInt16, [](auto* c) { c->add_int_contents(-300); c->add_int_contents(300); },
       le(int16_t{-300}, int16_t{300})},
      {"INT32", DataType::kInt32, [](auto* c) { c->add_int_contents(-70000); c->add_int_contents(70000); },
       le(int32_t{-70000}, int32_t{70000})},
      {"INT64", DataType::kInt64, [](auto* c) { c->add_int64_contents(-(int64_t{1} << 40)); c->add_int64_contents(1); },
       le(-(int64_t{1} << 40), int64_t{1})},
      {"UINT8", DataType::kUint8, [](auto* c) { c->add_uint_contents(255); c->add_uint_contents(0); }, {255, 0}},
      {"UINT16", DataType::kUint16, [](auto* c) { c->add_uint_contents(65535); c->add_uint_contents(1); },
       le(uint16_t{65535}, uint16_t{1})},
      {"UINT32", DataType::kUint32, [](auto* c) { c->add_uint_contents(4000000000u); c->add_uint_contents(2); },
       le(uint32_t{4000000000u}, uint32_t{2})},
      {"UINT64", DataType::kUint64, [](auto* c) { c->add_uint64_contents(uint64_t{1} << 63); c->add_uint64_contents(3); },
       le(uint64_t{1} << 63, uint64_t{3})},
      {"FP32", DataType::kFp32, [](auto* c) { c->add_fp32_contents(1.5f); c->add_fp32_contents(-2.25f); },
       le(1.5f, -2.25f)},
      {"FP64", DataType::kFp64, [](auto* c) { c->add_fp64_contents(1e300); c->add_fp64_contents(-0.5); },
       le(1e300, -0.5)},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    auto r = OneInput(tc.name, {2});
    tc.fill(r.mutable_inputs(0)->mutable_contents());
    core::InferRequest decoded;
    ASSERT_TRUE(Decode(r, &decoded).ok()) << Decode(r, &decoded).ToString();
    ASSERT_EQ(decoded.inputs.size(), 1u);
    EXPECT_EQ(decoded.inputs[0].tensor.dtype(), tc.type);
    EXPECT_EQ(std::vector<uint8_t>(decoded.inputs[0].tensor.bytes().begin(), decoded.inputs[0].tensor.bytes().end()),
              tc.bytes);
    EXPECT_EQ(ResponseFormFor(r), ContentsForm::kTyped);

    core::InferResponse response;
    response.model_name = "m";
    response.model_version = 3;
    response.outputs.push_back({"y", decoded.inputs[0].tensor, {}});
    inference::ModelInferResponse encoded;
    ASSERT_TRUE(EncodeInferResponse(response, {ContentsForm::kTyped, {}}, &encoded).ok());
    EXPECT_EQ(encoded.raw_output_contents_size(), 0);
    EXPECT_EQ(encoded.outputs(0).datatype(), tc.name);
    EXPECT_EQ(encoded.model_version(), "3");
    // Same contents as were sent.
    EXPECT_EQ(encoded.outputs(0).contents().SerializeAsString(), r.inputs(0).contents().SerializeAsString());
  }
}

TEST(GrpcCodecTest, BytesTypedAndRaw) {
  auto r = OneInput("BYTES", {2});
  r.mutable_inputs(0)->mutable_contents()->add_bytes_contents("ab");
  r.mutable_inputs(0)->mutable_contents()->add_bytes_contents(std::string("\0z", 2));
  core::InferRequest decoded;
  ASSERT_TRUE(Decode(r, &decoded).ok());
  auto elements = decoded.inputs[0].tensor.StringElements();
  ASSERT_TRUE(elements.ok());
  EXPECT_EQ((*elements)[0], "ab");
  EXPECT_EQ((*elements)[1], std::string_view("\0z", 2));

  core::InferResponse response;
  response.outputs.push_back({"y", decoded.inputs[0].tensor, {}});
  inference::ModelInferResponse raw;
  ASSERT_TRUE(EncodeInferResponse(response, {ContentsForm::kRaw, {}}, &raw).ok());
  EXPECT_EQ(raw.raw_output_contents(0), std::string("\x02\0\0\0ab\x02\0\0\0\0z", 12));
}

TEST(GrpcCodecTest, RawContentsAndHalfTypesOnlyRaw) {
  for (const char* type : {"FP16", "BF16"}) {
    SCOPED_TRACE(type);
    auto r = OneInput(type, {1, 2});
    r.add_raw_input_contents(std::string("\x00\x3c\x00\xc0", 4));
    core::InferRequest decoded;
    ASSERT_TRUE(Decode(r, &decoded).ok());
    EXPECT_EQ(decoded.inputs[0].tensor.byte_size(), 4u);
    EXPECT_EQ(ResponseFormFor(r), ContentsForm::kRaw);

    // Typed is impossible for them: the response falls back to raw.
    core::InferResponse response;
    response.outputs.push_back({"y", decoded.inputs[0].tensor, {}});
    inference::ModelInferResponse encoded;
    ASSERT_TRUE(EncodeInferResponse(response, {ContentsForm::kTyped, {}}, &encoded).ok());
    EXPECT_EQ(encoded.raw_output_contents(0), r.raw_input_contents(0));

    auto typed = OneInput(type, {1});
    typed.mutable_inputs(0)->mutable_contents()->add_fp32_contents(1.0f);
    core::InferRequest bad;
    auto st = Decode(typed, &bad);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(st.message().find("raw_input_contents"), std::string::npos) << st.message();
  }
}

TEST(GrpcCodecTest, ErrorsNameWhatIsWrong) {
  struct Case {
    const char* what;
    std::function<void(inference::ModelInferRequest*)> mutate;
    StatusCode code;
    const char* message;
  };
  std::vector<Case> cases = {
      {"unknown datatype", [](auto* r) { r->mutable_inputs(0)->set_datatype("FLOAT"); },
       StatusCode::kInvalidArgument, "unknown datatype 'FLOAT'"},
      {"negative dim", [](auto* r) { r->mutable_inputs(0)->set_shape(0, -1); }, StatusCode::kInvalidArgument,
       "negative dimension"},
      {"count mismatch", [](auto* r) { r->mutable_inputs(0)->mutable_contents()->add_fp32_contents(1); },
       StatusCode::kInvalidArgument, "needs 2 elements but contents hold 3"},
      {"wrong field", [](auto* r) {
         r->mutable_inputs(0)->mutable_contents()->clear_fp32_contents();
         r->mutable_inputs(0)->mutable_contents()->add_int_contents(1);
         r->mutable_inputs(0)->mutable_contents()->add_int_contents(2);
       },
       StatusCode::kInvalidArgument, "does not match datatype FP32"},
      {"raw and typed", [](auto* r) { r->add_raw_input_contents(std::string(8, '\0')); },
       StatusCode::kInvalidArgument, "use one or the other"},
      {"raw size", [](auto* r) {
         r->mutable_inputs(0)->clear_contents();
         r->add_raw_input_contents(std::string(7, '\0'));
       },
       StatusCode::kInvalidArgument, "input 'x'"},
      {"raw count", [](auto* r) {
         r->mutable_inputs(0)->clear_contents();
         r->add_raw_input_contents(std::string(8, '\0'));
         r->add_raw_input_contents(std::string(8, '\0'));
       },
       StatusCode::kInvalidArgument, "2 entries for 1 inputs"},
      {"no model", [](auto* r) { r->clear_model_name(); }, StatusCode::kInvalidArgument, "model_name"},
      {"bad version", [](auto* r) { r->set_model_version("latest"); }, StatusCode::kInvalidArgument,
       "positive integer"},
      {"too many elements", [](auto* r) { r->mutable_inputs(0)->set_shape(0, 1 << 20); },
       StatusCode::kResourceExhausted, "limit of 1000 elements"},
      {"overflowing shape", [](auto* r) {
         r->mutable_inputs(0)->set_shape(0, int64_t{1} << 40);
         r->mutable_inputs(0)->add_shape(int64_t{1} << 40);
       },
       StatusCode::kResourceExhausted, "elements"},
      {"out of range int8", [](auto* r) {
         r->mutable_inputs(0)->set_datatype("INT8");
         r->mutable_inputs(0)->mutable_contents()->clear_fp32_contents();
         r->mutable_inputs(0)->mutable_contents()->add_int_contents(1);
         r->mutable_inputs(0)->mutable_contents()->add_int_contents(200);
       },
       StatusCode::kInvalidArgument, "element 1 (200) is out of range"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.what);
    auto r = OneInput("FP32", {2});
    r.mutable_inputs(0)->mutable_contents()->add_fp32_contents(1);
    r.mutable_inputs(0)->mutable_contents()->add_fp32_contents(2);
    tc.mutate(&r);
    core::InferRequest out;
    auto st = Decode(r, &out, InputLimits{1000});
    EXPECT_EQ(st.code(), tc.code) << st.ToString();
    EXPECT_NE(st.message().find(tc.message), std::string::npos) << st.message();
  }
}

TEST(GrpcCodecTest, ParametersBothWays) {
  auto r = OneInput("FP32", {0});
  (*r.mutable_parameters())["b"].set_bool_param(true);
  (*r.mutable_parameters())["i"].set_int64_param(-4);
  (*r.mutable_parameters())["s"].set_string_param("x");
  (*r.mutable_parameters())["d"].set_double_param(0.5);
  (*r.mutable_parameters())["u"].set_uint64_param(7);
  r.set_id("req-1");
  r.set_model_version("2");
  core::InferRequest out;
  ASSERT_TRUE(Decode(r, &out).ok());
  EXPECT_EQ(out.id, "req-1");
  EXPECT_EQ(out.model_version, 2);
  EXPECT_EQ(std::get<bool>(out.parameters.at("b")), true);
  EXPECT_EQ(std::get<int64_t>(out.parameters.at("i")), -4);
  EXPECT_EQ(std::get<std::string>(out.parameters.at("s")), "x");
  EXPECT_EQ(std::get<double>(out.parameters.at("d")), 0.5);
  EXPECT_EQ(std::get<int64_t>(out.parameters.at("u")), 7);

  google::protobuf::Map<std::string, inference::InferParameter> back;
  EncodeParameters(out.parameters, &back);
  EXPECT_EQ(back.at("s").string_param(), "x");
  EXPECT_EQ(back.at("d").double_param(), 0.5);

  (*r.mutable_parameters())["u"].set_uint64_param(~uint64_t{0});
  core::InferRequest bad;
  EXPECT_EQ(Decode(r, &bad).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infergate::grpc_frontend

namespace infergate::grpc_frontend {
namespace {

TEST(GrpcCodecTest, ASharedMessageLendsItsRawContentsAndLivesAsLongAsTheTensor) {
  auto message = std::make_shared<inference::ModelInferRequest>(OneInput("FP32", {2, 2}));
  const std::vector<float> values{1.5f, -2.0f, 0.25f, 8.0f};
  message->add_raw_input_contents(std::string(reinterpret_cast<const char*>(values.data()), 16));
  const uint8_t* lent = reinterpret_cast<const uint8_t*>(message->raw_input_contents(0).data());
  std::weak_ptr<inference::ModelInferRequest> alive = message;

  core::InferRequest out;
  ASSERT_TRUE(DecodeInferRequest(std::move(message), {}, nullptr, &out).ok());
  ASSERT_EQ(out.inputs.size(), 1u);
  EXPECT_EQ(out.inputs[0].tensor.data(), lent);  // borrowed, not copied
  EXPECT_FALSE(alive.expired());                  // the tensor holds the message
  EXPECT_EQ(std::memcmp(out.inputs[0].tensor.data(), values.data(), 16), 0);
  out.inputs.clear();
  EXPECT_TRUE(alive.expired());

  // Errors are the same as when decoding a copy.
  auto short_message = std::make_shared<inference::ModelInferRequest>(OneInput("FP32", {2, 2}));
  short_message->add_raw_input_contents(std::string(12, '\0'));
  core::InferRequest refused;
  core::Status st = DecodeInferRequest(std::move(short_message), {}, nullptr, &refused);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("'x'"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace infergate::grpc_frontend

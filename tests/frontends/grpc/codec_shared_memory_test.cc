// The ModelInfer codec with Triton's system shared memory parameters: inputs
// borrowed from a registered region, outputs written into one, how
// raw_input_contents and raw_output_contents line up with tensors in shared
// memory, and every refusal.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "core/shared_memory.h"
#include "frontends/grpc/codec.h"
#include "testing/grpc_shared_memory.h"
#include "testing/shm_object.h"

namespace infergate::grpc_frontend {
namespace {

using core::StatusCode;
using testing::ShmObject;

using InputTensor = inference::ModelInferRequest::InferInputTensor;

void SetString(google::protobuf::Map<std::string, inference::InferParameter>* p,
               const std::string& key, const std::string& value) {
  (*p)[key].set_string_param(value);
}
void SetInt(google::protobuf::Map<std::string, inference::InferParameter>* p,
            const std::string& key, int64_t value) {
  (*p)[key].set_int64_param(value);
}

// Puts an input or requested output in `region` at [offset, offset + size).
template <typename T>
void InShm(T* t, const std::string& region, int64_t offset, int64_t size) {
  testing::InSharedMemory(t->mutable_parameters(), region, offset, size);
}

InputTensor* AddInput(inference::ModelInferRequest* r, const std::string& name,
                      std::vector<int64_t> shape, const std::string& datatype = "FP32") {
  auto* in = r->add_inputs();
  in->set_name(name);
  in->set_datatype(datatype);
  for (int64_t d : shape) in->add_shape(d);
  return in;
}

std::string Floats(std::vector<float> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

class GrpcCodecSharedMemoryTest : public ::testing::Test {
 protected:
  GrpcCodecSharedMemoryTest() : object_(8192) {
    const float values[] = {1, 2, 3, 4, 5, 6};
    object_.Write(64, values, 6);
    EXPECT_TRUE(registry_.Register("in", object_.key(), 0, 4096).ok());
    EXPECT_TRUE(registry_.Register("out", object_.key(), 4096, 4096).ok());
    request_.set_model_name("m");
  }

  core::Status Decode() {
    decoded_ = core::InferRequest();
    return DecodeInferRequest(request_, {}, &registry_, &decoded_);
  }
  core::Status DecodeDisabled() {
    decoded_ = core::InferRequest();
    return DecodeInferRequest(request_, {}, nullptr, &decoded_);
  }
  // A refusal: `code`, and `text` in its message.
  void ExpectRefused(core::Status st, StatusCode code, const std::string& text) {
    EXPECT_EQ(st.code(), code) << st.ToString();
    EXPECT_NE(st.message().find(text), std::string::npos) << st.message();
  }

  ShmObject object_;
  core::SharedMemoryRegistry registry_;
  inference::ModelInferRequest request_;
  core::InferRequest decoded_;
};

TEST_F(GrpcCodecSharedMemoryTest, InputIsCopiedOutOfTheRegion) {
  InShm(AddInput(&request_, "x", {2, 3}), "in", 64, 24);
  ASSERT_TRUE(Decode().ok()) << Decode().ToString();
  const core::Tensor& t = decoded_.inputs[0].tensor;
  // A copy: the client may truncate its object at any time, which must not
  // fault the server while the model reads the input.
  EXPECT_NE(t.data(), registry_.View("in", 64, 24, "x")->data);
  EXPECT_EQ(t.As<float>()[5], 6.0f);
  registry_.UnregisterAll();
  EXPECT_EQ(t.As<float>()[0], 1.0f);
  // Every input is in shared memory: nothing says typed, so the reply is raw.
  EXPECT_EQ(ResponseFormFor(request_), ContentsForm::kRaw);
}

TEST_F(GrpcCodecSharedMemoryTest, MisalignedInputIsCopied) {
  InShm(AddInput(&request_, "x", {1}), "in", 65, 4);
  ASSERT_TRUE(Decode().ok());
  const core::Tensor& t = decoded_.inputs[0].tensor;
  EXPECT_NE(t.data(), registry_.View("in", 65, 4, "x")->data);
  EXPECT_EQ(std::memcmp(t.data(), object_.data() + 65, 4), 0);
}

// raw_input_contents has one entry per input NOT in shared memory, in order
// (Triton's server and clients); here the second and fourth input.
TEST_F(GrpcCodecSharedMemoryTest, RawContentsPairWithTheInputsNotInSharedMemory) {
  InShm(AddInput(&request_, "a", {2}), "in", 64, 8);
  AddInput(&request_, "b", {1});
  InShm(AddInput(&request_, "c", {1}), "in", 72, 4);
  AddInput(&request_, "d", {2});
  request_.add_raw_input_contents(Floats({10}));
  request_.add_raw_input_contents(Floats({20, 30}));
  ASSERT_TRUE(Decode().ok()) << Decode().ToString();
  ASSERT_EQ(decoded_.inputs.size(), 4u);
  EXPECT_EQ(decoded_.inputs[0].tensor.As<float>()[1], 2.0f);
  EXPECT_EQ(decoded_.inputs[1].tensor.As<float>()[0], 10.0f);
  EXPECT_EQ(decoded_.inputs[2].tensor.As<float>()[0], 3.0f);
  EXPECT_EQ(decoded_.inputs[3].tensor.As<float>()[1], 30.0f);
  EXPECT_EQ(ResponseFormFor(request_), ContentsForm::kRaw);

  // One entry per input (as if shared memory inputs had one too) is refused.
  request_.add_raw_input_contents(Floats({40}));
  ExpectRefused(Decode(), StatusCode::kInvalidArgument,
                "raw_input_contents has 3 entries for 2 inputs not in shared memory");
}

TEST_F(GrpcCodecSharedMemoryTest, TypedInputsBesideSharedMemoryAnswerTyped) {
  InShm(AddInput(&request_, "a", {1}), "in", 64, 4);
  AddInput(&request_, "b", {1})->mutable_contents()->add_fp32_contents(7);
  ASSERT_TRUE(Decode().ok()) << Decode().ToString();
  EXPECT_EQ(decoded_.inputs[1].tensor.As<float>()[0], 7.0f);
  EXPECT_EQ(ResponseFormFor(request_), ContentsForm::kTyped);
}

TEST_F(GrpcCodecSharedMemoryTest, OutputsAreWrittenToTheirWindowAndKeepTheirRawPosition) {
  AddInput(&request_, "x", {1})->mutable_contents()->add_fp32_contents(0);
  InShm(request_.add_outputs(), "out", 16, 64);
  request_.mutable_outputs(0)->set_name("y");
  request_.add_outputs()->set_name("z");
  ASSERT_TRUE(Decode().ok()) << Decode().ToString();
  ASSERT_TRUE(decoded_.outputs[0].destination.has_value());
  EXPECT_EQ(decoded_.outputs[0].destination->data, registry_.View("out", 16, 64, "y")->data);
  EXPECT_FALSE(decoded_.outputs[1].destination.has_value());

  core::InferResponse response;
  response.outputs.push_back(
      {"y", core::Tensor::FromValues(core::DataType::kFp32, {3}, std::vector<float>{1, 2, 3}), {}});
  response.outputs.push_back(
      {"z", core::Tensor::FromValues(core::DataType::kFp32, {1}, std::vector<float>{9}), {}});
  for (ContentsForm form : {ContentsForm::kRaw, ContentsForm::kTyped}) {
    SCOPED_TRACE(form == ContentsForm::kRaw ? "raw" : "typed");
    std::memset(object_.data() + 4096, 0, 64);
    ResponseEncoding encoding = ResponseEncodingFor(request_, decoded_);
    encoding.form = form;
    inference::ModelInferResponse out;
    ASSERT_TRUE(EncodeInferResponse(response, encoding, &out).ok());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(object_.data()) + 4096 + 16, 12),
              Floats({1, 2, 3}));
    const auto& y = out.outputs(0);
    EXPECT_EQ(y.parameters().at("shared_memory_region").string_param(), "out");
    EXPECT_EQ(y.parameters().at("shared_memory_byte_size").int64_param(), 12);
    EXPECT_FALSE(y.has_contents());
    if (form == ContentsForm::kRaw) {
      ASSERT_EQ(out.raw_output_contents_size(), 2);  // entry i is output i
      EXPECT_EQ(out.raw_output_contents(0), "");
      EXPECT_EQ(out.raw_output_contents(1), Floats({9}));
    } else {
      EXPECT_EQ(out.raw_output_contents_size(), 0);
      EXPECT_EQ(out.outputs(1).contents().fp32_contents(0), 9.0f);
    }
  }
}

// An FP16 output in shared memory has no contents, so it does not force the
// rest of a typed reply to raw.
TEST_F(GrpcCodecSharedMemoryTest, HalfOutputInSharedMemoryLeavesTypedReplyTyped) {
  AddInput(&request_, "x", {1})->mutable_contents()->add_fp32_contents(0);
  InShm(request_.add_outputs(), "out", 0, 64);
  request_.mutable_outputs(0)->set_name("h");
  ASSERT_TRUE(Decode().ok());
  core::InferResponse response;
  response.outputs.push_back(
      {"h", core::Tensor::FromBytes(core::DataType::kFp16, {1}, {0x00, 0x3c}), {}});
  response.outputs.push_back(
      {"z", core::Tensor::FromValues(core::DataType::kFp32, {1}, std::vector<float>{9}), {}});
  inference::ModelInferResponse out;
  ASSERT_TRUE(EncodeInferResponse(response, ResponseEncodingFor(request_, decoded_), &out).ok());
  EXPECT_EQ(out.raw_output_contents_size(), 0);
  EXPECT_EQ(out.outputs(1).contents().fp32_contents(0), 9.0f);
  EXPECT_EQ(object_.data()[4096 + 1], 0x3c);
}

TEST_F(GrpcCodecSharedMemoryTest, AnOutputLargerThanItsWindowIsRefusedAndNothingIsWritten) {
  AddInput(&request_, "x", {1})->mutable_contents()->add_fp32_contents(0);
  InShm(request_.add_outputs(), "out", 0, 8);
  request_.mutable_outputs(0)->set_name("small");
  InShm(request_.add_outputs(), "out", 8, 64);
  request_.mutable_outputs(1)->set_name("fine");
  ASSERT_TRUE(Decode().ok());
  std::memset(object_.data() + 4096, 0, 64);
  core::InferResponse response;
  response.outputs.push_back(
      {"fine", core::Tensor::FromValues(core::DataType::kFp32, {1}, std::vector<float>{5}), {}});
  response.outputs.push_back(
      {"small",
       core::Tensor::FromValues(core::DataType::kFp32, {3}, std::vector<float>{1, 2, 3}),
       {}});
  inference::ModelInferResponse out;
  ExpectRefused(EncodeInferResponse(response, ResponseEncodingFor(request_, decoded_), &out),
                StatusCode::kInvalidArgument,
                "output 'small' is 12 bytes but its shared_memory_byte_size in region 'out' is 8");
  EXPECT_EQ(object_.data()[4096 + 8 + 3], 0);  // "fine" was not written either
}

TEST_F(GrpcCodecSharedMemoryTest, WithTheExtensionOffInputsAndOutputsInSharedMemoryAreRefused) {
  const std::string disabled(core::kSharedMemoryDisabled);
  InShm(AddInput(&request_, "x", {1}), "in", 64, 4);
  ExpectRefused(DecodeDisabled(), StatusCode::kInvalidArgument, "input 'x': " + disabled);
  request_.clear_inputs();
  AddInput(&request_, "x", {1})->mutable_contents()->add_fp32_contents(0);
  InShm(request_.add_outputs(), "out", 0, 4);
  request_.mutable_outputs(0)->set_name("y");
  ExpectRefused(DecodeDisabled(), StatusCode::kInvalidArgument, "output 'y': " + disabled);
}

TEST_F(GrpcCodecSharedMemoryTest, MalformedSharedMemoryParametersAreRefused) {
  struct Case {
    const char* what;
    std::function<void(InputTensor*)> edit;
    const char* error;
  };
  const std::vector<Case> cases = {
      {"unknown region", [](InputTensor* t) { InShm(t, "nosuch", 0, 4); },
       "no shared memory region 'nosuch'"},
      {"no byte size",
       [](InputTensor* t) { SetString(t->mutable_parameters(), "shared_memory_region", "in"); },
       "needs both 'shared_memory_region' and 'shared_memory_byte_size'"},
      {"offset only",
       [](InputTensor* t) { SetInt(t->mutable_parameters(), "shared_memory_offset", 0); },
       "needs both"},
      {"region not a string",
       [](InputTensor* t) {
         InShm(t, "in", 0, 4);
         SetInt(t->mutable_parameters(), "shared_memory_region", 3);
       },
       "'shared_memory_region' must be a non-empty string"},
      {"size not an integer",
       [](InputTensor* t) {
         InShm(t, "in", 0, 4);
         SetString(t->mutable_parameters(), "shared_memory_byte_size", "4");
       },
       "'shared_memory_byte_size' must be a non-negative integer"},
      {"negative offset", [](InputTensor* t) { InShm(t, "in", -4, 4); },
       "'shared_memory_offset' must be a non-negative integer"},
      {"past the region's end", [](InputTensor* t) { InShm(t, "in", 4094, 4); },
       "past the end of region 'in'"},
      {"size disagrees with the shape", [](InputTensor* t) { InShm(t, "in", 0, 8); }, "input 'x'"},
      {"typed contents too",
       [](InputTensor* t) {
         InShm(t, "in", 0, 4);
         t->mutable_contents()->add_fp32_contents(1);
       },
       "has typed contents and shared memory parameters"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    request_.clear_inputs();
    c.edit(AddInput(&request_, "x", {1}));
    ExpectRefused(Decode(), StatusCode::kInvalidArgument, c.error);
  }
  // An input in shared memory with a raw entry as well: the entry belongs to
  // no input.
  request_.clear_inputs();
  InShm(AddInput(&request_, "x", {1}), "in", 0, 4);
  request_.add_raw_input_contents(Floats({1}));
  ExpectRefused(Decode(), StatusCode::kInvalidArgument,
                "raw_input_contents has 1 entries for 0 inputs not in shared memory");
  // The same checks hold for requested outputs.
  request_.clear_raw_input_contents();
  request_.add_outputs()->set_name("y");
  InShm(request_.mutable_outputs(0), "nosuch", 0, 4);
  ExpectRefused(Decode(), StatusCode::kInvalidArgument,
                "output 'y': no shared memory region 'nosuch'");
  SetString(request_.mutable_outputs(0)->mutable_parameters(), "shared_memory_byte_size", "4");
  ExpectRefused(Decode(), StatusCode::kInvalidArgument,
                "output 'y' parameter 'shared_memory_byte_size' must be a non-negative integer");
}

// A uint64_param is as good as an int64_param for sizes and offsets.
TEST_F(GrpcCodecSharedMemoryTest, Uint64ParametersAreAccepted) {
  auto* in = AddInput(&request_, "x", {1});
  SetString(in->mutable_parameters(), "shared_memory_region", "in");
  (*in->mutable_parameters())["shared_memory_offset"].set_uint64_param(68);
  (*in->mutable_parameters())["shared_memory_byte_size"].set_uint64_param(4);
  ASSERT_TRUE(Decode().ok()) << Decode().ToString();
  EXPECT_EQ(decoded_.inputs[0].tensor.As<float>()[0], 2.0f);
}

}  // namespace
}  // namespace infergate::grpc_frontend

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "protocol/v2_json.h"

// The largest single allocation made while `g_track_allocations` is set: lets
// a test show that a refused request allocated nothing of the size it declared.
namespace {
std::atomic<bool> g_track_allocations{false};
std::atomic<size_t> g_largest_allocation{0};
}  // namespace

// GCC pairs the replaced new and delete below as malloc and free and warns
// at every inlined delete; they are matched.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(size_t size) {
  if (g_track_allocations.load(std::memory_order_relaxed) &&
      size > g_largest_allocation.load(std::memory_order_relaxed)) {
    g_largest_allocation.store(size, std::memory_order_relaxed);
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// The nothrow forms too (simdjson allocates with them): a sanitizer runtime
// supplies every form it is not given, with its own allocator, and would see
// them freed by the free() below.
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  try {
    return ::operator new(size);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace infergate::protocol {
namespace {

using core::DataType;
using core::StatusCode;

core::StatusOr<core::InferRequest> Decode(const std::string& json, DecodeLimits limits = {}) {
  core::InferRequest request;
  auto body = std::make_shared<const std::string>(json);
  RETURN_IF_ERROR(DecodeInferRequest(*body, body->size(), body, &request, limits));
  return request;
}

core::Status DecodeError(const std::string& json, DecodeLimits limits = {}) {
  return Decode(json, limits).status();
}

TEST(V2DecodeTest, FlatFp32RequestWithIdParametersAndOutputs) {
  auto r = Decode(R"({"id":"req-7","parameters":{"priority":3,"flag":true,"s":"x","d":0.5},
    "inputs":[{"name":"input","shape":[1,3],"datatype":"FP32","data":[1,2.5,-3e2]}],
    "outputs":[{"name":"out","parameters":{"binary_data":true}}]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->id, "req-7");
  EXPECT_EQ(std::get<int64_t>(r->parameters.at("priority")), 3);
  EXPECT_EQ(std::get<bool>(r->parameters.at("flag")), true);
  EXPECT_EQ(std::get<std::string>(r->parameters.at("s")), "x");
  EXPECT_EQ(std::get<double>(r->parameters.at("d")), 0.5);
  ASSERT_EQ(r->inputs.size(), 1u);
  const auto& t = r->inputs[0].tensor;
  EXPECT_EQ(r->inputs[0].name, "input");
  EXPECT_EQ(t.dtype(), DataType::kFp32);
  EXPECT_EQ(t.shape(), (core::Shape{1, 3}));
  ASSERT_EQ(t.As<float>().size(), 3u);
  EXPECT_EQ(t.As<float>()[0], 1.0f);
  EXPECT_EQ(t.As<float>()[1], 2.5f);
  EXPECT_EQ(t.As<float>()[2], -300.0f);
  ASSERT_EQ(r->outputs.size(), 1u);
  EXPECT_EQ(r->outputs[0].name, "out");
  EXPECT_TRUE(OutputEncoding::ForRequest(*r).binary("out"));
  EXPECT_FALSE(OutputEncoding::ForRequest(*r).binary("other"));
}

TEST(V2DecodeTest, NestedArraysAndFieldsInAnyOrder) {
  auto r = Decode(R"({"inputs":[{"data":[[1,2],[3,4],[5,6]],"datatype":"INT32","shape":[3,2],
    "name":"x"}]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto v = r->inputs[0].tensor.As<int32_t>();
  ASSERT_EQ(v.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(v[i], i + 1);
}

TEST(V2DecodeTest, EveryDatatype) {
  struct Case {
    const char* type;
    const char* data;
    std::vector<uint8_t> bytes;
  };
  const std::vector<Case> cases = {
      {"BOOL", "[true,false]", {1, 0}},
      {"UINT8", "[0,255]", {0, 255}},
      {"UINT16", "[1,65535]", {1, 0, 255, 255}},
      {"UINT32", "[1,4294967295]", {1, 0, 0, 0, 255, 255, 255, 255}},
      {"UINT64", "[1,18446744073709551615]", {1, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255}},
      {"INT8", "[-128,127]", {0x80, 0x7F}},
      {"INT16", "[-1,2]", {255, 255, 2, 0}},
      {"INT32", "[-2,3]", {0xFE, 255, 255, 255, 3, 0, 0, 0}},
      {"INT64", "[-1,1]", {255, 255, 255, 255, 255, 255, 255, 255, 1, 0, 0, 0, 0, 0, 0, 0}},
      {"FP16", "[1.0,-2]", {0x00, 0x3C, 0x00, 0xC0}},
      {"BF16", "[1.0,-2]", {0x80, 0x3F, 0x00, 0xC0}},
      {"FP32", "[1.0,-2]", {0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0}},
      {"FP64", "[1.0,-2]", {0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0, 0, 0, 0, 0, 0, 0, 0xC0}},
      {"BYTES", R"(["ab","\u00e9\n"])", {2, 0, 0, 0, 'a', 'b', 3, 0, 0, 0, 0xC3, 0xA9, '\n'}},
  };
  for (const auto& c : cases) {
    auto r = Decode(std::string(R"({"inputs":[{"name":"x","shape":[2],"datatype":")") + c.type +
                    R"(","data":)" + c.data + "}]}");
    ASSERT_TRUE(r.ok()) << c.type << ": " << r.status().ToString();
    const auto& t = r->inputs[0].tensor;
    EXPECT_EQ(DataTypeName(t.dtype()), c.type);
    EXPECT_EQ(std::vector<uint8_t>(t.data(), t.data() + t.byte_size()), c.bytes) << c.type;
    EXPECT_TRUE(t.Validate("x").ok()) << c.type;
  }
}

TEST(V2DecodeTest, BinaryExtensionBorrowsTheBody) {
  std::string json = R"({"inputs":[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}},)"
                     R"({"name":"b","shape":[1],"datatype":"INT8","data":[5]},)"
                     R"({"name":"c","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":7}}]})";
  const float floats[2] = {1.5f, -4.0f};
  auto owned = std::make_shared<std::string>(json);
  while (owned->size() % 4) owned->insert(owned->begin() + static_cast<long>(json.size() - 1), ' ');
  const size_t json_length = owned->size();
  owned->append(reinterpret_cast<const char*>(floats), sizeof(floats));
  owned->append(std::string("\x03\x00\x00\x00xyz", 7));
  owned->reserve(owned->size() + 64);
  std::shared_ptr<const std::string> body = owned;

  core::InferRequest r;
  ASSERT_TRUE(DecodeInferRequest(*body, json_length, body, &r).ok());
  ASSERT_EQ(r.inputs.size(), 3u);
  const auto& a = r.inputs[0].tensor;
  EXPECT_EQ(a.As<float>()[0], 1.5f);
  EXPECT_EQ(a.As<float>()[1], -4.0f);
  EXPECT_EQ(reinterpret_cast<const char*>(a.data()), body->data() + json_length);  // no copy
  EXPECT_EQ(r.inputs[1].tensor.As<int8_t>()[0], 5);
  auto strings = r.inputs[2].tensor.StringElements();
  ASSERT_TRUE(strings.ok());
  EXPECT_EQ((*strings)[0], "xyz");
  EXPECT_GT(body.use_count(), 1);  // the tensors keep the body alive
}

// Any memory can hold the body: the owner is kept alive by the tensors that
// borrow it, and the spare bytes after the body let the JSON be parsed in place.
TEST(V2DecodeTest, BinaryDataBorrowsABodyInAnyOwner) {
  const std::string json =
      R"({"inputs":[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}]})";
  const float floats[2] = {1.5f, -4.0f};
  const size_t padded_json = (json.size() + 3) / 4 * 4;
  auto owner = std::make_shared<std::vector<char>>(padded_json + sizeof(floats) + 64, ' ');
  std::memcpy(owner->data(), json.data(), json.size());
  std::memcpy(owner->data() + padded_json, floats, sizeof(floats));
  const std::string_view body(owner->data(), padded_json + sizeof(floats));

  InferRequestDecoder decoder;
  core::InferRequest r;
  ASSERT_TRUE(decoder.Decode(body, padded_json, owner, 64, &r).ok());
  ASSERT_EQ(r.inputs.size(), 1u);
  EXPECT_EQ(reinterpret_cast<const char*>(r.inputs[0].tensor.data()), owner->data() + padded_json);
  EXPECT_EQ(r.inputs[0].tensor.As<float>()[1], -4.0f);
  EXPECT_GT(owner.use_count(), 1);  // the tensor keeps the owner alive

  // Without an owner the same body is copied.
  core::InferRequest copied;
  ASSERT_TRUE(decoder.Decode(body, padded_json, nullptr, 0, &copied).ok());
  EXPECT_NE(reinterpret_cast<const char*>(copied.inputs[0].tensor.data()), owner->data() + padded_json);
  EXPECT_EQ(copied.inputs[0].tensor.As<float>()[0], 1.5f);
}

TEST(V2DecodeTest, BinaryExtensionSizeErrors) {
  const std::string json =
      R"({"inputs":[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}]})";
  auto decode = [&](const std::string& tail, size_t json_length) {
    core::InferRequest r;
    std::string body = json + tail;
    return DecodeInferRequest(body, json_length, nullptr, &r);
  };
  EXPECT_TRUE(decode(std::string(8, '\0'), json.size()).ok());
  auto short_data = decode(std::string(4, '\0'), json.size());
  EXPECT_NE(short_data.message().find("only 4 bytes of binary data remain"), std::string::npos)
      << short_data.message();
  auto extra = decode(std::string(9, '\0'), json.size());
  EXPECT_NE(extra.message().find("1 bytes after the JSON"), std::string::npos) << extra.message();
  auto past_end = decode("", json.size() + 10);
  EXPECT_NE(past_end.message().find("Inference-Header-Content-Length"), std::string::npos);
  auto wrong_size = DecodeError(
      R"({"inputs":[{"name":"a","shape":[3],"datatype":"FP32","parameters":{"binary_data_size":0}}]})");
  EXPECT_EQ(wrong_size.code(), StatusCode::kInvalidArgument);
  auto both = DecodeError(
      R"({"inputs":[{"name":"a","shape":[0],"datatype":"FP32","data":[],"parameters":{"binary_data_size":0}}]})");
  EXPECT_NE(both.message().find("both 'data' and"), std::string::npos) << both.message();
}

void ExpectError(const std::string& json, StatusCode code, const std::string& fragment,
                 DecodeLimits limits = {}) {
  auto st = DecodeError(json, limits);
  EXPECT_EQ(st.code(), code) << json << " -> " << st.ToString();
  EXPECT_NE(st.message().find(fragment), std::string::npos) << json << " -> " << st.message();
}

// A short body declaring a huge tensor is refused before the tensor is
// allocated: an 89-byte request must not make the IO thread zero 128 MiB.
TEST(V2DecodeTest, DeclaredCountBeyondTheBodyIsRefusedWithoutAllocating) {
  const std::string json =
      R"({"inputs":[{"name":"x","shape":[1,16777216],"datatype":"FP64","data":[1]}]})";
  g_largest_allocation = 0;
  g_track_allocations = true;
  auto st = DecodeError(json);
  g_track_allocations = false;
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("input 'x': shape [1,16777216] declares 16777216 elements but the " +
                              std::to_string(json.size()) + "-byte JSON body holds at most " +
                              std::to_string((json.size() + 1) / 2) + " values"),
            std::string::npos)
      << st.message();
  EXPECT_LT(g_largest_allocation.load(), 64u * 1024) << "bytes allocated at once";
  // Exactly as many one-byte values as the body can hold still decode.
  EXPECT_TRUE(Decode(R"({"inputs":[{"name":"x","shape":[3],"datatype":"INT8","data":[1,2,3]}]})").ok());
  ExpectError(R"({"inputs":[{"name":"x","shape":[100],"datatype":"BYTES","data":[""]}]})",
              StatusCode::kInvalidArgument, "declares 100 elements but the");
}

// binary_data_size must be what the shape declares, checked before any copy.
TEST(V2DecodeTest, BinaryDataSizeMustMatchTheShape) {
  const std::string json =
      R"({"inputs":[{"name":"a","shape":[1],"datatype":"FP64","parameters":{"binary_data_size":16}}]})";
  core::InferRequest r;
  const std::string body = json + std::string(16, '\0');
  auto st = DecodeInferRequest(body, json.size(), nullptr, &r);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("input 'a': shape [1] holds 1 FP64 elements of 8 bytes, but "
                              "binary_data_size is 16"),
            std::string::npos)
      << st.message();
}

TEST(V2DecodeTest, ClearErrors) {
  const auto kBad = StatusCode::kInvalidArgument;
  ExpectError("", kBad, "malformed JSON");
  ExpectError("{", kBad, "malformed JSON");
  ExpectError(R"({"inputs":[{"name":"x",)", kBad, "malformed JSON");
  ExpectError(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1,]}]})", kBad, "");
  ExpectError(R"({"inputs":[]} extra)", kBad, "malformed JSON");
  ExpectError(R"({"inputs":[]} {})", kBad, "malformed JSON");
  ExpectError(R"({"inputs":[]}})", kBad, "malformed JSON");
  ExpectError("[1,2]", kBad, "expected a JSON object");
  ExpectError(R"({"id":"x"})", kBad, "no 'inputs'");
  ExpectError(R"({"inputs":{}})", kBad, "'inputs' must be an array");
  ExpectError(R"({"inputs":[{"shape":[1],"datatype":"FP32","data":[1]}]})", kBad, "inputs[0] has no 'name'");
  ExpectError(R"({"inputs":[{"name":"x","shape":[1],"data":[1]}]})", kBad, "input 'x' has no 'datatype'");
  ExpectError(R"({"inputs":[{"name":"x","datatype":"FP32","data":[1]}]})", kBad, "input 'x' has no 'shape'");
  ExpectError(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32"}]})", kBad, "neither 'data' nor");
  ExpectError(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP33","data":[1]}]})", kBad,
              "unknown datatype 'FP33'; expected one of BOOL");
  ExpectError(R"({"inputs":[{"name":"x","shape":[-1],"datatype":"FP32","data":[1]}]})", kBad,
              "non-negative integers, got -1");
  ExpectError(R"({"inputs":[{"name":"x","shape":[1.5],"datatype":"FP32","data":[1]}]})", kBad, "'shape'");
  ExpectError(R"({"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[1,2,3]}]})", kBad,
              "shape [2,2] holds 4 elements but 'data' has 3");
  ExpectError(R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1,2,3]}]})", kBad,
              "holds 2 elements but 'data' has more");
  ExpectError(R"({"inputs":[{"name":"x","shape":[1],"datatype":"INT8","data":[128]}]})", kBad,
              "data element 0 is not a valid INT8");
  ExpectError(R"({"inputs":[{"name":"x","shape":[1],"datatype":"UINT8","data":[-1]}]})", kBad, "UINT8");
  ExpectError(R"({"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[1.5]}]})", kBad, "INT32");
  ExpectError(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1e39]}]})", kBad, "FP32");
  ExpectError(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP16","data":[1e6]}]})", kBad, "FP16");
  ExpectError(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":["1"]}]})", kBad, "FP32");
  ExpectError(R"({"inputs":[{"name":"x","shape":[1],"datatype":"BOOL","data":[1]}]})", kBad, "BOOL");
  ExpectError(R"({"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":[1]}]})", kBad,
              "BYTES elements are JSON strings");
  ExpectError(R"({"id":5,"inputs":[]})", kBad, "'id' must be a string");
  ExpectError(R"({"parameters":{"a":[1]},"inputs":[]})", kBad, "must be a boolean, number or string");
  ExpectError(R"({"parameters":{"binary_data_output":1},"inputs":[]})", kBad, "binary_data_output");
  ExpectError(R"({"inputs":[],"outputs":[{"parameters":{}}]})", kBad, "outputs[0] has no 'name'");
  ExpectError(R"({"inputs":[],"outputs":[{"name":"o","parameters":{"classification":2}}]})", kBad,
              "classification");
  ExpectError(R"({"inputs":[],"outputs":[{"name":"o","parameters":{"binary_data":"yes"}}]})", kBad,
              "'binary_data' must be a boolean");
  ExpectError(std::string(R"({"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":[")") +
                  "\xff\xfe" + "\"]}]}",
              kBad, "malformed JSON");
}

TEST(V2DecodeTest, LimitsAreResourceExhausted) {
  DecodeLimits limits;
  limits.max_elements_per_tensor = 4;
  limits.max_list_size = 2;
  ExpectError(R"({"inputs":[{"name":"x","shape":[5],"datatype":"FP32","data":[1,2,3,4,5]}]})",
              StatusCode::kResourceExhausted, "input 'x' has 5 elements; the limit is 4", limits);
  ExpectError(R"({"inputs":[{"name":"x","shape":[1099511627776,1099511627776],"datatype":"FP32","data":[]}]})",
              StatusCode::kInvalidArgument, "too large");
  ExpectError(R"({"inputs":[{"name":"a","shape":[0],"datatype":"FP32","data":[]},
    {"name":"b","shape":[0],"datatype":"FP32","data":[]},{"name":"c","shape":[0],"datatype":"FP32","data":[]}]})",
              StatusCode::kResourceExhausted, "more than 2 inputs", limits);
}

std::string NestedDataRequest(const std::string& datatype, size_t depth, const std::string& leaf,
                              const std::string& shape) {
  return R"({"inputs":[{"name":"x","shape":)" + shape + R"(,"datatype":")" + datatype +
         R"(","data":)" + std::string(depth, '[') + leaf + std::string(depth, ']') + "}]}";
}

// Deeply nested 'data' is refused by a depth limit, never by overflowing the
// stack (the walk over nested arrays is recursive).
TEST(V2DecodeTest, DeeplyNestedDataIsRefused) {
  for (const char* type : {"FP32", "INT64", "BYTES"}) {
    const std::string leaf = std::string(type) == "BYTES" ? R"("a")" : "1";
    ExpectError(NestedDataRequest(type, 200000, leaf, "[1]"), StatusCode::kInvalidArgument,
                "input 'x': data nested deeper than 64 levels");
    // Unterminated: refused as malformed before the walk starts.
    ExpectError(R"({"inputs":[{"name":"x","shape":[1],"datatype":")" + std::string(type) +
                    R"(","data":)" + std::string(200000, '['),
                StatusCode::kInvalidArgument, "malformed JSON");
  }
  std::string rank64 = "[1";
  for (int i = 1; i < 64; ++i) rank64 += ",1";
  rank64 += "]";
  auto ok = Decode(NestedDataRequest("FP32", 64, "7", rank64));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->inputs[0].tensor.As<float>()[0], 7.0f);
  ExpectError(NestedDataRequest("FP32", 65, "7", rank64), StatusCode::kInvalidArgument,
              "data nested deeper than 64 levels");
}

// Every prefix of a valid body is refused with an error; none crashes.
TEST(V2DecodeTest, EveryTruncationIsAnError) {
  const std::string json =
      R"({"id":"a","parameters":{"k":1.5},"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32",)"
      R"("data":[[1,2],[3,4]]},{"name":"s","shape":[1],"datatype":"BYTES","data":["q\"z"]}],)"
      R"("outputs":[{"name":"y"}]})";
  ASSERT_TRUE(Decode(json).ok());
  InferRequestDecoder decoder;
  for (size_t n = 0; n < json.size(); ++n) {
    core::InferRequest r;
    auto st = decoder.Decode(std::string_view(json).substr(0, n), n, nullptr, &r);
    EXPECT_FALSE(st.ok()) << "prefix " << n << " was accepted";
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  }
  core::InferRequest r;
  EXPECT_TRUE(decoder.Decode(json, json.size(), nullptr, &r).ok());  // the decoder is reusable
}

}  // namespace
}  // namespace infergate::protocol

namespace infergate::protocol {
namespace {

TEST(DecodeFlatObjectTest, ScalarsOnly) {
  auto empty = DecodeFlatObject(" \n");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  auto flat = DecodeFlatObject(R"({"ready":true,"n":2,"s":"x"})");
  ASSERT_TRUE(flat.ok()) << flat.status().ToString();
  EXPECT_EQ(std::get<bool>(flat->at("ready")), true);
  EXPECT_EQ(std::get<int64_t>(flat->at("n")), 2);
  EXPECT_FALSE(DecodeFlatObject("[1]").ok());
  EXPECT_FALSE(DecodeFlatObject(R"({"a":{}})").ok());
  EXPECT_FALSE(DecodeFlatObject(R"({"a":1)").ok());
  EXPECT_FALSE(DecodeFlatObject(R"({"a":1} x)").ok());
}

}  // namespace
}  // namespace infergate::protocol

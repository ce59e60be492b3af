#include "payload.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "shared_memory.h"
#include "testing/temp_dir.h"

namespace infergate::bench {
namespace {

using nlohmann::json;

TEST(PayloadTest, ParsesInputSpecs) {
  auto spec = ParseInputSpec("input:FP32:1,16");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->name, "input");
  EXPECT_EQ(spec->datatype, "FP32");
  EXPECT_EQ(spec->shape, (std::vector<int64_t>{1, 16}));
  for (const char* bad : {"input", "input:FP32", "input:FP33:1", ":FP32:1", "x:FP32:1,-2", "x:FP32:1,a", "x:FP32:"}) {
    auto s = ParseInputSpec(bad);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.status().message().find(bad), std::string::npos) << s.status().ToString();
  }
}

TEST(PayloadTest, RandomJsonBodiesAreV2Requests) {
  auto set = RandomPayloads({{"input", "FP32", {2, 16}}, {"flag", "BOOL", {2}}}, 3, false, 1);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->bodies.size(), 3u);
  EXPECT_NE(set->bodies[0].body, set->bodies[1].body);
  EXPECT_EQ(&set->For(4), &set->bodies[1]);
  const json r = json::parse(set->bodies[0].body);
  ASSERT_EQ(r["inputs"].size(), 2u);
  EXPECT_EQ(r["inputs"][0]["name"], "input");
  EXPECT_EQ(r["inputs"][0]["shape"], json::array({2, 16}));
  EXPECT_EQ(r["inputs"][0]["data"].size(), 32u);
  EXPECT_TRUE(r["inputs"][1]["data"][0].is_boolean());
  EXPECT_EQ(set->bodies[0].json_length, 0u);
}

TEST(PayloadTest, BinaryBodiesCarryTheTensorAfterTheJsonHeader) {
  auto set = RandomPayloads({{"input", "FP32", {1, 16}}}, 1, true, 1);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  const Payload& p = set->bodies[0];
  ASSERT_GT(p.json_length, 0u);
  ASSERT_EQ(p.body.size(), p.json_length + 16 * sizeof(float));
  const json header = json::parse(p.body.substr(0, p.json_length));
  EXPECT_FALSE(header["inputs"][0].contains("data"));
  EXPECT_EQ(header["inputs"][0]["parameters"]["binary_data_size"], 64);
  EXPECT_EQ(header["parameters"]["binary_data_output"], true);
  // The same values as the JSON body made from the same seed.
  auto as_json = RandomPayloads({{"input", "FP32", {1, 16}}}, 1, false, 1);
  const json values = json::parse(as_json->bodies[0].body)["inputs"][0]["data"];
  float first;
  std::memcpy(&first, p.body.data() + p.json_length, sizeof(float));
  EXPECT_FLOAT_EQ(first, values[0].get<float>());
}

TEST(PayloadTest, SharedMemoryBodiesNameTheirWindowOfTheRegion) {
  auto set = RandomPayloads({{"a", "FP32", {1, 3}}, {"b", "INT64", {2}}}, 2, true, 1);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  const PayloadSet binary = *set;
  auto shm = SharedMemoryInputs::Create(&*set, "r");
  ASSERT_TRUE(shm.ok()) << shm.status().ToString();
  EXPECT_FALSE(set->binary);
  // What the server will map: the object the tool made.
  const int fd = shm_open((*shm)->key().c_str(), O_RDONLY, 0);
  ASSERT_GE(fd, 0);
  std::string region((*shm)->size(), '\0');
  ASSERT_EQ(pread(fd, region.data(), region.size(), 0), static_cast<ssize_t>(region.size()));
  close(fd);
  for (size_t i = 0; i < set->bodies.size(); ++i) {
    const Payload& p = set->bodies[i];
    EXPECT_EQ(p.json_length, 0u);
    const json r = json::parse(p.body);  // JSON alone, no binary tail
    size_t from = binary.bodies[i].json_length;
    for (const auto& input : r["inputs"]) {
      const auto& params = input["parameters"];
      EXPECT_FALSE(params.contains("binary_data_size"));
      EXPECT_EQ(params["shared_memory_region"], "r");
      const size_t at = params["shared_memory_offset"], n = params["shared_memory_byte_size"];
      EXPECT_EQ(at % 64, 0u);
      EXPECT_EQ(region.substr(at, n), binary.bodies[i].body.substr(from, n));
      from += n;
    }
  }
  const std::string key = (*shm)->key();
  shm->reset();
  EXPECT_LT(shm_open(key.c_str(), O_RDONLY, 0), 0) << "the object is removed with the tool's handle";
  EXPECT_FALSE(SharedMemoryInputs::Create(&*set, "r").ok()) << "needs binary payloads";
}

TEST(PayloadTest, FileRequestsAndRawDecoding) {
  testing::TempDir dir;
  const auto file = dir.Write("requests.json", R"([
    {"inputs":[{"name":"x","datatype":"INT64","shape":[1,3],"data":[[1,2,3]]}]},
    {"inputs":[{"name":"s","datatype":"BYTES","shape":[1],"data":["ab"]}]}])");
  auto set = PayloadsFromFile(file.string(), false);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->bodies.size(), 2u);
  auto raw = ToRawRequest(set->bodies[0]);
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  ASSERT_EQ(raw->inputs.size(), 1u);
  EXPECT_EQ(raw->inputs[0].bytes.size(), 3 * sizeof(int64_t));
  int64_t third;
  std::memcpy(&third, raw->inputs[0].bytes.data() + 16, sizeof(third));
  EXPECT_EQ(third, 3);
  auto bytes = ToRawRequest(set->bodies[1]);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->inputs[0].bytes, std::string("\x02\x00\x00\x00" "ab", 6));
}

TEST(PayloadTest, BadFilesAreNamed) {
  testing::TempDir dir;
  EXPECT_EQ(PayloadsFromFile((dir.path() / "missing.json").string(), false).status().code(),
            core::StatusCode::kNotFound);
  const auto broken = dir.Write("broken.json", "{\"inputs\": [");
  auto s = PayloadsFromFile(broken.string(), false);
  EXPECT_EQ(s.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("broken.json"), std::string::npos);
  const auto no_inputs = dir.Write("no_inputs.json", "{\"id\": 1}");
  EXPECT_FALSE(PayloadsFromFile(no_inputs.string(), false).ok());
  const auto text_as_float = dir.Write("text.json",
      R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":["a"]}]})");
  auto t = PayloadsFromFile(text_as_float.string(), true);
  EXPECT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("input 'x'"), std::string::npos) << t.status().ToString();
}

}  // namespace
}  // namespace infergate::bench

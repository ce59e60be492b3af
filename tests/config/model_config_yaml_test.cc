#include "config/model_config_yaml.h"

#include <gtest/gtest.h>

#include "config/server_config.h"

namespace infergate::config {
namespace {

using core::StatusCode;

TEST(ModelConfigYamlTest, ParsesEveryKey) {
  auto c = ParseModelConfig(R"(
name: m
platform: onnxruntime_onnx
max_batch_size: 8
version_policy: {latest: {num_versions: 2}}
instance_count: 2
input:
  - {name: x, data_type: TYPE_FP32, dims: [16]}
output:
  - name: y
    data_type: FP32
    dims: [-1]
dynamic_batching:
  preferred_batch_size: [4, 8]
  max_queue_delay_microseconds: 500
  max_queue_size: 100
  default_timeout_microseconds: 20000
onnxruntime: {intra_op_threads: 1, graph_optimization_level: basic}
description: a model
)",
                            "config.yaml", "m");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->max_batch_size, 8);
  EXPECT_EQ(c->version_policy.latest, 2);
  EXPECT_EQ(c->instance_count, 2);
  ASSERT_EQ(c->inputs.size(), 1u);
  EXPECT_EQ(c->inputs[0].dtype, core::DataType::kFp32);
  EXPECT_EQ(c->outputs[0].dims, (core::Shape{-1}));
  EXPECT_TRUE(c->has_dynamic_batching);
  EXPECT_EQ(c->dynamic_batching.preferred_batch_size, (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(c->dynamic_batching.max_queue_delay_microseconds, 500);
  EXPECT_EQ(c->runtime.intra_op_threads, 1);
  EXPECT_EQ(c->runtime.graph_optimization_level, "basic");
  EXPECT_EQ(c->description, "a model");
}

TEST(ModelConfigYamlTest, EmptyOrMissingFileGivesDefaults) {
  auto c = ParseModelConfig("", "config.yaml", "m");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->name, "m");
  EXPECT_EQ(c->max_batch_size, core::kUnsetBatchSize);
  auto f = ParseModelConfigFile("/nonexistent/config.yaml", "m");
  ASSERT_TRUE(f.ok());
}

TEST(ModelConfigYamlTest, TritonSpellings) {
  auto c = ParseModelConfig("version_policy: {specific: {versions: [1, 3]}}\n"
                            "instance_group: [{count: 2, kind: KIND_CPU}, {count: 1}]\n",
                            "config.yaml", "m");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->version_policy.specific, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(c->instance_count, 3);
}

struct BadCase {
  const char* yaml;
  const char* expect;
};

TEST(ModelConfigYamlTest, ErrorsNameLineKeyAndExpectation) {
  const BadCase cases[] = {
      {"max_batch_size: lots\n", "line 1: key 'max_batch_size': expected an integer, got 'lots'"},
      {"max_batch_size: -3\n", "expected an integer from 0"},
      {"name: other\n", "differs from the model's folder name 'm'"},
      {"\nmax_batch_sise: 4\n", "line 2: key 'max_batch_sise': unknown key"},
      {"input: [{name: x, data_type: FLOAT32}]\n", "unknown datatype 'FLOAT32'"},
      {"input: [{data_type: FP32}]\n", "needs a name"},
      {"version_policy: {latest: 1, all: {}}\n", "exactly one"},
      {"onnxruntime: {graph_optimization_level: max}\n", "expected disable, basic, extended or all"},
      {"instance_group: [{kind: KIND_GPU}]\n", "only KIND_CPU"},
      {"dynamic_batching: {max_queue_delay: 5}\n", "unknown key in dynamic_batching"},
      {"input: [unclosed\n", "config.yaml: line"},
      {"default_model_filename: ../../etc/passwd\n", "a file name, not a path"},
      {"- just\n- a list\n", "expected a mapping"},
  };
  for (const auto& c : cases) {
    auto r = ParseModelConfig(c.yaml, "config.yaml", "m");
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos)
        << "yaml: " << c.yaml << "\nmessage: " << r.status().message();
  }
}

TEST(ServerConfigTest, ParsesAndValidates) {
  auto c = ParseServerConfig(
      "model_repository: /models\nmodel_control_mode: explicit\nrepository_poll_secs: 0.5\n"
      "onnxruntime: {intra_op_threads: 2, allow_spinning: true}\n",
      "infergate.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->model_control_mode, ModelControlMode::kExplicit);
  EXPECT_EQ(c->onnxruntime.intra_op_threads, 2);
  EXPECT_TRUE(c->onnxruntime.allow_spinning);
  EXPECT_TRUE(ValidateServerConfig(*c).ok());

  auto bad = ParseServerConfig("model_control_mode: sometimes\n", "infergate.yaml");
  EXPECT_NE(bad.status().message().find("infergate.yaml: line 1: key 'model_control_mode'"),
            std::string::npos)
      << bad.status().message();
  EXPECT_FALSE(ValidateServerConfig(ServerConfig{}).ok()) << "a repository is required";
}

// Duplicate keys are refused at every level of a model's config.yaml, the
// device section included, naming the file, the line and the key.
TEST(ModelConfigYamlTest, DuplicateKeysAreRefused) {
  const struct {
    std::string yaml;
    std::string want;
  } cases[] = {
      {"max_batch_size: 4\nmax_batch_size: 8\n", "line 2: key 'max_batch_size'"},
      {"input:\n  - name: x\n    dims: [4]\n    name: y\n", "line 4: key 'name'"},
      {"device:\n  id_field: a\n  inputs:\n    - name: f\n      fields:\n"
       "        - {name: t, unit: C, unit: F}\n",
       "line 6: key 'unit'"},
      {"device:\n  id_field: a\n  window: {length_secs: 1}\n  id_field: b\n", "line 4: key 'id_field'"},
  };
  for (const auto& c : cases) {
    auto r = ParseModelConfig(c.yaml, "models/m/config.yaml", "m");
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("models/m/config.yaml: " + c.want), std::string::npos)
        << r.status().message();
  }
  // Aliases are not expanded to look for duplicates: a document that refers
  // to an anchor many times over stays cheap to check.
  std::string aliases = "description: x\nx0: &a0 [1, 1]\n";
  for (int i = 1; i < 40; ++i) {
    aliases += "x" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" + std::to_string(i - 1) +
               ", *a" + std::to_string(i - 1) + "]\n";
  }
  auto r = ParseModelConfig(aliases, "config.yaml", "m");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown key"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace infergate::config

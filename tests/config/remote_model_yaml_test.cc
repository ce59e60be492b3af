#include "config/remote_model_yaml.h"

#include <gtest/gtest.h>

#include "config/model_config_yaml.h"
#include "testing/temp_dir.h"

namespace infergate::config {
namespace {

using core::StatusCode;

TEST(RemoteModelYamlTest, ParsesEveryKey) {
  auto c = ParseModelConfig(R"(
backend: remote
max_batch_size: 8
remote:
  url: grpc://cloud.example:8001
  model: plant_classifier
  version: "2"
  timeout_ms: 250
  token_file: /etc/infergate/cloud.token
  tls: {ca_file: /etc/infergate/cloud-ca.pem}
)",
                            "config.yaml", "plants");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->remote);
  EXPECT_EQ(c->backend, "remote");
  EXPECT_EQ(c->remote->url, "grpc://cloud.example:8001");
  EXPECT_EQ(c->remote->model, "plant_classifier");
  EXPECT_EQ(c->remote->version, "2");
  EXPECT_EQ(c->remote->LocalVersion(), 2);
  EXPECT_EQ(c->remote->timeout_ms, 250);
  EXPECT_EQ(c->remote->token_file, "/etc/infergate/cloud.token");
  EXPECT_EQ(c->remote->ca_file, "/etc/infergate/cloud-ca.pem");
}

TEST(RemoteModelYamlTest, DefaultsAndTheBackendImplied) {
  auto c = ParseModelConfig("remote: {url: 'http://cloud:8000', version: 3}\n", "config.yaml", "plants");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->backend, "remote");
  EXPECT_EQ(c->remote->model, "plants");
  EXPECT_EQ(c->remote->version, "3");
  EXPECT_EQ(c->remote->timeout_ms, 1000);
  EXPECT_TRUE(c->remote->token_file.empty());
  auto empty_version = ParseModelConfig("remote: {url: 'http://cloud:8000', version: ''}\n", "config.yaml", "p");
  ASSERT_TRUE(empty_version.ok()) << empty_version.status().ToString();
  EXPECT_EQ(empty_version->remote->LocalVersion(), 1);
}

TEST(RemoteModelYamlTest, ErrorsNameTheKey) {
  struct Case {
    const char* yaml;
    const char* expected;
  } cases[] = {
      {"backend: remote\n", "backend: remote needs a remote: section"},
      {"backend: onnxruntime\nremote: {url: 'grpc://h:1'}\n", "served by backend: remote"},
      {"remote: {model: m}\n", "key 'remote.url': required"},
      {"remote: {url: 'grpc://h'}\n", "a gRPC URL needs a port"},
      {"remote: {url: 'tcp://h:1'}\n", "expected grpc://, grpcs://, http:// or https://"},
      {"remote: {url: 'grpc://h:1', version: latest}\n", "a positive integer, got 'latest'"},
      {"remote: {url: 'grpc://h:1', version: '0'}\n", "a positive integer, got '0'"},
      {"remote: {url: 'grpc://h:1', timeout_ms: 0}\n", "remote.timeout_ms"},
      {"remote: {url: 'http://h:1', tls: {ca_file: ca.pem}}\n", "needs an https:// URL"},
      {"remote: {url: 'grpc://h:1', retries: 3}\n", "retries"},
      {"remote: {url: 'grpc://h:1', tls: {cert_file: c.pem}}\n", "cert_file"},
  };
  for (const auto& c : cases) {
    auto r = ParseModelConfig(c.yaml, "m/config.yaml", "m");
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.expected), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("m/config.yaml"), std::string::npos) << r.status().message();
  }
}

TEST(RemoteModelYamlTest, RelativeFilesAreFromTheModelsFolder) {
  testing::TempDir dir;
  dir.Write("m/config.yaml",
            "remote: {url: 'https://h:1', token_file: cloud.token, tls: {ca_file: /abs/ca.pem}}\n");
  auto c = ParseModelConfigFile(dir.path() / "m" / "config.yaml", "m");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->remote->token_file, (dir.path() / "m" / "cloud.token").string());
  EXPECT_EQ(c->remote->ca_file, "/abs/ca.pem");
}

}  // namespace
}  // namespace infergate::config

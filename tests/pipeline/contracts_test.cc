#include "pipeline/contracts.h"

#include <gtest/gtest.h>

#include "config/model_config_yaml.h"
#include "testing/fake_backend.h"
#include "testing/temp_dir.h"

namespace infergate::pipeline {
namespace {

TEST(DeviceContractsTest, FollowsTheRepository) {
  ::infergate::testing::TempDir dir;
  ::infergate::testing::FakeBackend backend;
  const std::string model = "FP32 x y -1 4";
  const std::string contract =
      "device: {inputs: [{name: x, fields: [v]}], window: {count: 4}, result: {labels: [a, b, c, d]}}\n";
  dir.Write("dev/config.yaml", contract);
  dir.Write("dev/1/model.onnx", model);
  dir.Write("plain/1/model.onnx", model);
  core::ModelRepository::Options o;
  o.root = dir.path();
  o.backend = &backend;
  o.parse_config = &config::ParseModelConfigFile;
  o.check_config = &CheckContract;
  auto repo = core::ModelRepository::Create(std::move(o));
  ASSERT_TRUE(repo.ok());
  core::ManualClock clock;
  DeviceContracts contracts(repo->get(), {&clock, nullptr});
  (*repo)->Poll();

  auto dev = contracts.Get("dev");
  ASSERT_TRUE(dev.ok()) << dev.status().ToString();
  EXPECT_EQ((*dev)->plan().model_version, 1);
  EXPECT_EQ(contracts.Get("plain").status().code(), core::StatusCode::kFailedPrecondition);
  EXPECT_EQ(contracts.Get("nope").status().code(), core::StatusCode::kNotFound);

  dir.Write("dev/2/model.onnx", model);  // a new version replaces version 1 (latest: 1)
  (*repo)->Poll();
  auto v2 = contracts.Get("dev");
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ((*v2)->plan().model_version, 2);
  EXPECT_EQ((*dev)->plan().model_version, 1) << "the old runner lives on while it is held";

  ASSERT_TRUE((*v2)->Accept("d", Telemetry{{{"v", 1.0}}, std::nullopt}).ok());
  clock.Advance(std::chrono::hours(2));
  EXPECT_EQ(contracts.EvictIdle(), 1u);

  ASSERT_TRUE((*repo)->Unload("dev").ok());
  EXPECT_EQ(contracts.Get("dev").status().code(), core::StatusCode::kNotFound);
}

}  // namespace
}  // namespace infergate::pipeline

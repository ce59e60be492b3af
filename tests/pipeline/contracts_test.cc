#include "pipeline/contracts.h"

#include <gtest/gtest.h>

#include "testing/fake_backend.h"
#include "testing/temp_dir.h"
#include "testing/served_repository.h"

namespace infergate::pipeline {
namespace {

const std::string kModel = "FP32 x y -1 4";  // x [batch, 4] -> y [batch, 4]

// A repository over `dir` that checks contracts as the server's does.
std::unique_ptr<core::ModelRepository> MakeRepository(const ::infergate::testing::TempDir& dir,
                                                      core::Backend* backend) {
  auto repo = ::infergate::testing::MakeServedRepository(dir.path(), backend);
  EXPECT_TRUE(repo.ok()) << repo.status().ToString();
  return std::move(*repo);
}

// A device section that does not fit its model makes the version UNAVAILABLE
// with a reason naming the key; one that fits is served.
TEST(ContractLoadTest, ContractIsCheckedWhenAVersionLoads) {
  ::infergate::testing::TempDir dir;
  ::infergate::testing::FakeBackend backend;
  dir.Write("fits/config.yaml",
            "device: {inputs: [{name: x, fields: [v]}], window: {count: 4}, result: {labels: [a, "
            "b, c, d]}}\n");
  dir.Write("fits/1/model.onnx", kModel);
  dir.Write("misfit/config.yaml",
            "device: {inputs: [{name: x, fields: [v]}], window: {count: 3}}\n");
  dir.Write("misfit/1/model.onnx", kModel);
  auto repo = MakeRepository(dir, &backend);
  repo->Poll();

  auto fits = repo->Get("fits");
  ASSERT_TRUE(fits.ok()) << fits.status().ToString();
  ASSERT_TRUE((*fits)->config().device.has_value());
  EXPECT_EQ((*fits)->config().device->window.count, 4);

  auto misfit = repo->Get("misfit");
  EXPECT_EQ(misfit.status().code(), core::StatusCode::kUnavailable);
  EXPECT_NE(misfit.status().message().find("config.yaml: device.inputs.x: a window of 3 reading(s) "
                                           "x 1 value(s) gives 3 values, but input 'x' takes [4]"),
            std::string::npos)
      << misfit.status().message();
}

TEST(DeviceContractsTest, FollowsTheRepository) {
  ::infergate::testing::TempDir dir;
  ::infergate::testing::FakeBackend backend;
  const std::string contract =
      "device: {inputs: [{name: x, fields: [v]}], window: {count: 4}, result: {labels: [a, b, c, "
      "d]}}\n";
  dir.Write("dev/config.yaml", contract);
  dir.Write("dev/1/model.onnx", kModel);
  dir.Write("plain/1/model.onnx", kModel);
  auto repo = MakeRepository(dir, &backend);
  core::ManualClock clock;
  DeviceContracts contracts(repo.get(), {&clock, nullptr});
  repo->Poll();

  auto dev = contracts.Get("dev");
  ASSERT_TRUE(dev.ok()) << dev.status().ToString();
  EXPECT_EQ((*dev)->plan().model_version, 1);
  EXPECT_EQ(contracts.Get("plain").status().code(), core::StatusCode::kFailedPrecondition);
  EXPECT_EQ(contracts.Get("nope").status().code(), core::StatusCode::kNotFound);

  dir.Write("dev/2/model.onnx", kModel);  // a new version replaces version 1 (latest: 1)
  repo->Poll();
  auto v2 = contracts.Get("dev");
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ((*v2)->plan().model_version, 2);
  EXPECT_EQ((*dev)->plan().model_version, 1) << "the old runner lives on while it is held";
  auto named = contracts.Get("dev", 2);
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_EQ(named->get(), v2->get());
  EXPECT_EQ(contracts.Get("dev", 1).status().code(), core::StatusCode::kNotFound)
      << "version 1 was unloaded";
  EXPECT_EQ(contracts.Get("plain", 1).status().code(), core::StatusCode::kFailedPrecondition);

  EXPECT_FALSE((*v2)->WindowProgress("d").has_value());
  ASSERT_TRUE((*v2)->Accept("d", Telemetry{{{"v", 1.0}}, std::nullopt}).ok());
  auto progress = (*v2)->WindowProgress("d");
  ASSERT_TRUE(progress.has_value());
  EXPECT_EQ(progress->readings, 1);
  EXPECT_EQ(progress->needed, 3) << "a window of 4";
  clock.Advance(std::chrono::hours(2));
  EXPECT_EQ(contracts.EvictIdle(), 1u);

  ASSERT_TRUE(repo->Unload("dev").ok());
  EXPECT_EQ(contracts.Get("dev").status().code(), core::StatusCode::kNotFound);
}

}  // namespace
}  // namespace infergate::pipeline

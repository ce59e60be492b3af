// The repository runs CheckContract when a version loads (the server wires it
// so): a device section that does not fit its model makes the version
// UNAVAILABLE with a reason naming the key; one that fits is served.
#include <gtest/gtest.h>

#include "config/model_config_yaml.h"
#include "core/model_repository.h"
#include "pipeline/plan.h"
#include "testing/fake_backend.h"
#include "testing/temp_dir.h"

namespace infergate::pipeline {
namespace {

TEST(ContractLoadTest, ContractIsCheckedWhenAVersionLoads) {
  ::infergate::testing::TempDir dir;
  ::infergate::testing::FakeBackend backend;
  const std::string model = "FP32 x y -1 4";  // x [batch, 4] -> y [batch, 4]
  dir.Write("fits/config.yaml",
            "device: {inputs: [{name: x, fields: [v]}], window: {count: 4}, result: {labels: [a, b, c, d]}}\n");
  dir.Write("fits/1/model.onnx", model);
  dir.Write("misfit/config.yaml", "device: {inputs: [{name: x, fields: [v]}], window: {count: 3}}\n");
  dir.Write("misfit/1/model.onnx", model);
  core::ModelRepository::Options o;
  o.root = dir.path();
  o.backend = &backend;
  o.parse_config = &config::ParseModelConfigFile;
  o.check_config = &CheckContract;
  auto repo = core::ModelRepository::Create(std::move(o));
  ASSERT_TRUE(repo.ok());
  (*repo)->Poll();

  auto fits = (*repo)->Get("fits");
  ASSERT_TRUE(fits.ok()) << fits.status().ToString();
  ASSERT_TRUE((*fits)->config().device.has_value());
  EXPECT_EQ((*fits)->config().device->window.count, 4);

  auto misfit = (*repo)->Get("misfit");
  EXPECT_EQ(misfit.status().code(), core::StatusCode::kUnavailable);
  EXPECT_NE(misfit.status().message().find(
                "config.yaml: device.inputs.x: a window of 3 reading(s) x 1 value(s) gives 3 values, but input 'x' takes [4]"),
            std::string::npos)
      << misfit.status().message();
}

}  // namespace
}  // namespace infergate::pipeline

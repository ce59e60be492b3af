#include "pipeline/postprocess.h"

#include <gtest/gtest.h>

#include "pipeline/contract_fixture.h"
#include "pipeline/tensor_values.h"

namespace infergate::pipeline {
namespace {

core::InferResponse Response(const std::string& output, std::vector<double> values,
                             core::DataType type = core::DataType::kFp32) {
  core::InferResponse r;
  r.model_name = "m";
  r.model_version = 2;
  const auto n = static_cast<int64_t>(values.size());
  r.outputs.push_back({output, ToTensor(type, {1, n}, values), {}});
  return r;
}

ContractPlan Plan(const std::string& yaml) {
  auto plan = PlanContract(testing::ConfigFromYaml(yaml), 2);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return *plan;
}

const char* kScoreYaml = R"(
max_batch_size: 4
input: [{name: accel, data_type: FP32, dims: [1]}]
output: [{name: score, data_type: FP32, dims: [1]}]
device:
  inputs: [{name: accel, fields: [a]}]
  result: {threshold: 0.0232, alert_label: bearing_fault, fields: {score: reconstruction_error, model: ~}}
)";

TEST(PostprocessTest, ScoreAgainstThreshold) {
  auto plan = Plan(kScoreYaml);
  auto high = Postprocess(plan, Response("score", {0.09}));
  ASSERT_TRUE(high.ok()) << high.status().ToString();
  EXPECT_TRUE(high->alert);
  EXPECT_EQ(high->label, "bearing_fault");
  EXPECT_NEAR(high->score, 0.09, 1e-6);
  EXPECT_EQ(high->fields.score, "reconstruction_error");
  EXPECT_EQ(high->fields.model, "") << "~ leaves the field out";
  EXPECT_EQ(high->model_version, 2);
  auto low = Postprocess(plan, Response("score", {0.007}));
  EXPECT_FALSE(low->alert);
  EXPECT_EQ(low->label, "normal");
}

TEST(PostprocessTest, TheTierOfAnEscalatingModelIsKept) {
  auto plan = Plan(kScoreYaml);
  auto plain = Postprocess(plan, Response("score", {0.09}));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->tier, "");
  EXPECT_EQ(plain->escalation, "");
  core::InferResponse response = Response("score", {0.09});
  response.parameters["tier"] = std::string("edge");
  response.parameters["escalation"] = std::string("timeout");
  auto r = Postprocess(plan, response);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tier, "edge");
  EXPECT_EQ(r->escalation, "timeout");
}

TEST(PostprocessTest, ArgmaxTopKAndAlertLabels) {
  auto plan = Plan(testing::kClassifierYaml);
  auto r = Postprocess(plan, Response("probs", {0.1, 0.2, 0.6, 0.1}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->label, "overheating");
  EXPECT_NEAR(r->score, 0.6, 1e-6);
  ASSERT_EQ(r->top_k.size(), 2u);
  EXPECT_EQ(r->top_k[1].label, "bearing_wear");
  EXPECT_TRUE(r->alert);
  auto normal = Postprocess(plan, Response("probs", {0.7, 0.1, 0.1, 0.1}, core::DataType::kFp64));
  EXPECT_EQ(normal->label, "normal");
  EXPECT_FALSE(normal->alert);
}

TEST(PostprocessTest, WrongOutputIsAnError) {
  auto plan = Plan(testing::kClassifierYaml);
  EXPECT_FALSE(Postprocess(plan, Response("other", {1, 2, 3, 4})).ok());
  auto r = Postprocess(plan, Response("probs", {1, 2, 3}));
  EXPECT_NE(r.status().message().find("holds 3 scores for 4 labels"), std::string::npos);
}

TEST(PostprocessTest, OnRule) {
  Result r;
  r.label = "normal";
  const std::string normal = "normal", wear = "bearing_wear";
  using On = core::DeviceResult::On;
  EXPECT_TRUE(ShouldSend(On::kAlways, r, &normal));
  EXPECT_TRUE(ShouldSend(On::kChange, r, nullptr)) << "the first result is sent";
  EXPECT_FALSE(ShouldSend(On::kChange, r, &normal));
  EXPECT_TRUE(ShouldSend(On::kChange, r, &wear));
  EXPECT_FALSE(ShouldSend(On::kThreshold, r, nullptr));
  r.alert = true;
  EXPECT_TRUE(ShouldSend(On::kThreshold, r, nullptr));
}

}  // namespace
}  // namespace infergate::pipeline

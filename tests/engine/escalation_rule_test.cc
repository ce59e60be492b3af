#include "engine/escalation_rule.h"

#include <gtest/gtest.h>

namespace infergate::engine {
namespace {

using core::DataType;
using When = core::EscalationConfig::When;

core::ModelConfig Config(When when, int64_t max_batch_size = 8) {
  core::ModelConfig c;
  c.name = "m";
  c.max_batch_size = max_batch_size;
  c.outputs = {{"y", DataType::kFp32, {-1}}};
  c.escalate.emplace();
  c.escalate->to = "big";
  c.escalate->when = when;
  c.escalate->score_below = 0.8;
  return c;
}

core::InferResponse Answer(core::Shape shape, std::vector<float> values, std::string name = "y") {
  core::InferResponse r;
  r.outputs.push_back({std::move(name), core::Tensor::FromValues(DataType::kFp32, std::move(shape), values), {}});
  return r;
}

TEST(EscalationRuleTest, ScoreBelowOnBothSidesOfTheThreshold) {
  auto c = Config(When::kScoreBelow);
  EXPECT_TRUE(ShouldEscalate(c, Answer({1, 1}, {0.79f})));
  EXPECT_FALSE(ShouldEscalate(c, Answer({1, 1}, {0.8f})));
  EXPECT_FALSE(ShouldEscalate(c, Answer({1, 1}, {0.95f})));
}

TEST(EscalationRuleTest, ScoreIsTheTopClassPerItem) {
  auto c = Config(When::kScoreBelow);
  EXPECT_FALSE(ShouldEscalate(c, Answer({1, 3}, {0.1f, 0.85f, 0.05f})));
  EXPECT_TRUE(ShouldEscalate(c, Answer({1, 3}, {0.4f, 0.35f, 0.25f})));
  // Two items: one doubtful item is enough.
  EXPECT_TRUE(ShouldEscalate(c, Answer({2, 2}, {0.9f, 0.1f, 0.5f, 0.5f})));
  EXPECT_FALSE(ShouldEscalate(c, Answer({2, 2}, {0.9f, 0.1f, 0.1f, 0.9f})));
  // Without batching the whole tensor is one item.
  auto unbatched = Config(When::kScoreBelow, 0);
  EXPECT_FALSE(ShouldEscalate(unbatched, Answer({2, 2}, {0.9f, 0.1f, 0.5f, 0.5f})));
}

TEST(EscalationRuleTest, LabelInReadsTheContractLabels) {
  auto c = Config(When::kLabelIn);
  c.device.emplace();
  c.device->result.output = "probs";
  c.device->result.kind = core::DeviceResult::Kind::kClasses;
  c.device->result.labels = {"ok", "fault", "unknown"};
  c.escalate->label_in = {"unknown"};
  EXPECT_TRUE(ShouldEscalate(c, Answer({1, 3}, {0.1f, 0.2f, 0.7f}, "probs")));
  EXPECT_FALSE(ShouldEscalate(c, Answer({1, 3}, {0.1f, 0.7f, 0.2f}, "probs")));
}

TEST(EscalationRuleTest, AlwaysAndUnreadableOutputs) {
  EXPECT_TRUE(ShouldEscalate(Config(When::kAlways), core::InferResponse{}));
  auto c = Config(When::kScoreBelow);
  EXPECT_FALSE(ShouldEscalate(c, core::InferResponse{}));
  core::InferResponse text;
  text.outputs.push_back({"y", core::Tensor::FromStrings({"a"}), {}});
  EXPECT_FALSE(ShouldEscalate(c, text));
}

}  // namespace
}  // namespace infergate::engine

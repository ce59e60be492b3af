#include "pipeline/plan.h"

#include <gtest/gtest.h>

#include "config/model_config_yaml.h"
#include "pipeline/contract_fixture.h"

namespace infergate::pipeline {
namespace {

using testing::ConfigFromYaml;

TEST(PlanTest, ResolvesOffsetsShapesAndResult) {
  auto plan = PlanContract(ConfigFromYaml(testing::kClassifierYaml), 3);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->inputs.size(), 1u);
  EXPECT_EQ(plan->inputs[0].shape, (core::Shape{1, 3}));
  EXPECT_EQ(plan->row_width, 3);
  EXPECT_EQ(plan->rows, 1);
  EXPECT_EQ(plan->contract.result.output, "probs") << "the only output is taken";
  EXPECT_EQ(plan->contract.result.kind, core::DeviceResult::Kind::kClasses)
      << "labels imply classes";
  EXPECT_EQ(plan->result_elements, 4);
  EXPECT_EQ(plan->model_version, 3);
}

TEST(PlanTest, WindowSolvesAnOpenDimension) {
  auto plan = PlanContract(ConfigFromYaml(R"(
input: [{name: accel, data_type: FP32, dims: [-1, 3]}]
output: [{name: score, data_type: FP32, dims: [1]}]
device:
  inputs: [{name: accel, fields: [x, y, z]}]
  window: {count: 128, hop: 64}
)"),
                           1);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->inputs[0].shape, (core::Shape{128, 3})) << "max_batch_size 0: no batch dimension";
}

TEST(PlanTest, StatefulContract) {
  auto plan = PlanContract(ConfigFromYaml(R"(
max_batch_size: 4
input: [{name: x, data_type: FP32, dims: [1]}, {name: h_in, data_type: FP32, dims: [8]}]
output: [{name: y, data_type: FP32, dims: [1]}, {name: h_out, data_type: FP32, dims: [8]}]
device:
  inputs: [{name: x, fields: [v]}]
  state: [{input: h_in, output: h_out}]
  result: {threshold: 0.5}
)"),
                           1);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->contract.result.output, "y") << "state outputs are not candidates";
  ASSERT_EQ(plan->state.size(), 1u);
  EXPECT_EQ(plan->state[0].shape, (core::Shape{1, 8}));
  EXPECT_EQ(plan->state[0].elements, 8);
}

struct BadPlan {
  const char* yaml;
  const char* expect;
};

TEST(PlanTest, ContractsThatDoNotFitTheModelNameTheKey) {
  const std::string io =
      "input: [{name: accel, data_type: FP32, dims: [64]}]\n"
      "output: [{name: rec, data_type: FP32, dims: [64]}, {name: score, data_type: FP32, dims: "
      "[1]}]\n";
  const BadPlan cases[] = {
      {"device: {inputs: [{name: accell, fields: [a]}], result: {output: score}}",
       "device.inputs.accell: the model has no input 'accell'"},
      {"device: {inputs: [{name: accel, fields: [a]}], window: {count: 32}, result: {output: "
       "score}}",
       "device.inputs.accel: a window of 32 reading(s) x 1 value(s) gives 32 values, but input "
       "'accel' takes [64]"},
      {"device: {inputs: [{name: accel, fields: [a]}], window: {count: 64}}",
       "device.result.output: the model has outputs 'rec', 'score'"},
      {"device: {inputs: [{name: accel, fields: [a]}], window: {count: 64}, result: {output: rec}}",
       "output 'rec' holds 64 values per request; kind score reads one"},
      {"device: {inputs: [{name: accel, fields: [a]}], window: {count: 64}, result: {output: "
       "score, labels: [a, b]}}",
       "device.result.labels: 2 labels, but output 'score' holds 1"},
      {"device: {inputs: [{name: accel, fields: [{name: a, length: 32}, {name: a, length: 32}]}], "
       "result: {output: score}}",
       "field 'a' is listed twice"},
      {"device: {inputs: [{name: accel, fields: [a]}], window: {count: 64}, state: [{input: h, "
       "output: score}], result: {output: score}}",
       "device.state.h: the model has no input 'h'"},
  };
  for (const auto& c : cases) {
    auto config = ConfigFromYaml(io + c.yaml);
    auto st = CheckContract(config);
    ASSERT_FALSE(st.ok()) << c.yaml;
    EXPECT_NE(st.message().find(c.expect), std::string::npos) << c.yaml << "\n" << st.message();
  }
}

// Silero VAD's shape of contract: audio from telemetry, the sample rate a
// constant, the recurrent state carried.
const char* kVadIo = R"(
input: [{name: input, data_type: FP32, dims: [1, 512]}, {name: sr, data_type: INT64, dims: []},
        {name: state, data_type: FP32, dims: [2, 1, 128]}]
output: [{name: output, data_type: FP32, dims: [1, 1]}, {name: stateN, data_type: FP32, dims: [2, 1, 128]}]
)";

TEST(PlanTest, ConstantsFeedTheirInputWithEveryWindow) {
  auto plan = PlanContract(ConfigFromYaml(std::string(kVadIo) + R"(
device:
  inputs: [{name: input, fields: [{name: audio, length: 512}]}]
  state: [{input: state, output: stateN}]
  constants: {sr: {datatype: INT64, shape: [], value: 16000}}
  result: {output: output, threshold: 0.5}
)"),
                           1);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->constants.size(), 1u);
  EXPECT_EQ(plan->constants[0].input, "sr");
  EXPECT_EQ(plan->constants[0].dtype, core::DataType::kInt64);
  EXPECT_EQ(plan->constants[0].shape, core::Shape{}) << "max_batch_size 0: as the model declares";
  EXPECT_EQ(plan->constants[0].values, std::vector<double>{16000});

  auto batched = PlanContract(ConfigFromYaml(R"(
max_batch_size: 8
input: [{name: a, data_type: FP32, dims: [2]}, {name: b, data_type: FP32, dims: [-1, 2]}]
output: [{name: y, data_type: FP32, dims: [1]}]
device:
  inputs: [{name: a, fields: [{name: a, length: 2}]}]
  constants: {b: {datatype: FP32, shape: [3, 2], value: [[1, 2], [3, 4], [5, 6]]}}
)"),
                              1);
  ASSERT_TRUE(batched.ok()) << batched.status().ToString();
  EXPECT_EQ(batched->constants[0].shape, (core::Shape{1, 3, 2}))
      << "a batch dimension of 1 per window, an open dim taken from the constant";
  EXPECT_EQ(batched->constants[0].values, (std::vector<double>{1, 2, 3, 4, 5, 6}));
}

TEST(PlanTest, ConstantsThatDoNotFitTheModelNameTheKey) {
  const std::string head = std::string(kVadIo) +
                           "device:\n  inputs: [{name: input, fields: [{name: audio, length: 512}]}]\n"
                           "  state: [{input: state, output: stateN}]\n  result: {output: output}\n";
  const BadPlan cases[] = {
      {"  constants: {sr: {datatype: INT32, shape: [], value: 16000}}\n",
       "device.constants.sr.datatype: INT32, but input 'sr' is INT64"},
      {"  constants: {sr: {datatype: INT64, shape: [1], value: [16000]}}\n",
       "device.constants.sr.shape: [1], but input 'sr' takes []"},
      {"  constants: {rate: {datatype: INT64, shape: [], value: 16000}}\n",
       "device.constants.rate: the model has no input 'rate'"},
      {"  constants: {sr: {datatype: INT64, value: 1}, input: {datatype: FP32, value: 0}}\n",
       "device.constants.input: input 'input' is filled from telemetry or state too"},
  };
  for (const auto& c : cases) {
    auto st = CheckContract(ConfigFromYaml(head + c.yaml));
    ASSERT_FALSE(st.ok()) << c.yaml;
    EXPECT_NE(st.message().find(c.expect), std::string::npos) << c.yaml << "\n" << st.message();
  }
  auto missing = CheckContract(ConfigFromYaml(head));
  EXPECT_NE(missing.message().find("model input 'sr' is filled by neither telemetry "
                                   "(device.inputs), state (device.state) nor a constant"),
            std::string::npos)
      << missing.message();
}

TEST(PlanTest, EveryModelInputMustBeFilled) {
  auto st = CheckContract(ConfigFromYaml(R"(
input: [{name: a, data_type: FP32, dims: [1]}, {name: b, data_type: FP32, dims: [1]}]
output: [{name: y, data_type: FP32, dims: [1]}]
device: {inputs: [{name: a, fields: [a]}]}
)"));
  EXPECT_NE(st.message().find("model input 'b' is filled by neither"), std::string::npos)
      << st.message();
  EXPECT_TRUE(CheckContract(ConfigFromYaml("max_batch_size: 2\n")).ok())
      << "no device section: nothing to check";
}

}  // namespace
}  // namespace infergate::pipeline

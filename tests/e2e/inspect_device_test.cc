// `infergate inspect` on models with a device contract: the example message a
// device sends, the tensors the model sees and the reply, from the real model.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "testing/process.h"
#include "testing/temp_dir.h"

namespace infergate {
namespace {

using testing::Process;
namespace fs = std::filesystem;

const fs::path kExamples = INFERGATE_EXAMPLE_MODELS_DIR;

// <repo>/<name>/1/model.onnx from tests/models/<file>, with its config.yaml.
void AddTestModel(const testing::TempDir& repo, const std::string& name, const std::string& file,
                  const std::string& yaml) {
  fs::create_directories(repo.path() / name / "1");
  fs::copy_file(fs::path(INFERGATE_TEST_MODELS_DIR) / file, repo.path() / name / "1" / "model.onnx");
  repo.Write(name + "/config.yaml", yaml);
}

TEST(InspectDeviceE2ETest, VibrationContractText) {
  Process p({INFERGATE_BINARY, "inspect", (kExamples / "vibration_anomaly").string()});
  EXPECT_EQ(p.Wait(), 0) << p.Output();
  const std::string& out = p.Output();
  EXPECT_NE(out.find("window:     count: the last 64 readings, every 32 readings"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("A device sends (64 messages like this before the first inference):\n  "
                     "{\"accel\":0,\"ts\":0}"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("accel       FP32  [1,64]"), std::string::npos) << out;
  EXPECT_NE(out.find("The device is told:\n  "
                     "{\"device\":\"device-1\",\"label\":\"normal\",\"anomaly_score\":"),
            std::string::npos)
      << out;
}

TEST(InspectDeviceE2ETest, ClassifierContractJson) {
  Process p(
      {INFERGATE_BINARY, "inspect", "--json", (kExamples / "predictive_maintenance").string()});
  EXPECT_EQ(p.Wait(), 0) << p.Output();
  auto j = nlohmann::json::parse(p.Output(), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << p.Output();
  const auto& d = j[0]["device"];
  EXPECT_EQ(d["telemetry"]["temperature_c"], 52.3);
  EXPECT_EQ(d["tensors"][0]["shape"], nlohmann::json::parse("[1, 5]"));
  EXPECT_EQ(d["reply"]["label"], "normal") << "the sample row of a healthy pump";
  EXPECT_EQ(d["reply"]["top_k"].size(), 2u);
}

TEST(InspectDeviceE2ETest, StatefulContractShowsTheStateTensors) {
  testing::TempDir repo;
  AddTestModel(repo, "mean", "running_mean.onnx",
             "device:\n  inputs: [{name: x, fields: [{name: v, example: 3}]}]\n"
             "  window: {length_secs: 4, period_secs: 1}\n"
             "  state: [{input: h_in, output: h_out}]\n  result: {output: mean}\n");
  Process p({INFERGATE_BINARY, "inspect", (repo.path() / "mean").string()});
  EXPECT_EQ(p.Wait(), 0) << p.Output();
  const std::string& out = p.Output();
  EXPECT_NE(out.find("state:      h_in <- h_out (initially 0)"), std::string::npos) << out;
  EXPECT_NE(out.find("A device sends (5 messages like this before the first inference)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("h_in        FP32  [1,2]     0, 0"), std::string::npos) << out;
  EXPECT_NE(out.find("\"score\":3,"), std::string::npos) << "the mean of four 3s\n" << out;
}

// add_sub.onnx with INPUT1 a constant: inspect lists it, marks its tensor and
// the reply is computed with it (OUTPUT0 = INPUT0 + INPUT1).
TEST(InspectDeviceE2ETest, ConstantsAreShownWithTheirTensors) {
  testing::TempDir repo;
  AddTestModel(repo, "k", "add_sub.onnx",
             "max_batch_size: 4\n"
             "device:\n  inputs: [{name: INPUT0, fields: [{name: x, length: 4, example: 1}]}]\n"
             "  constants: {INPUT1: {datatype: FP32, shape: [4], value: [10, 20, 30, 40]}}\n"
             "  result: {output: OUTPUT0, labels: [a, b, c, d]}\n");
  Process p({INFERGATE_BINARY, "inspect", (repo.path() / "k").string()});
  EXPECT_EQ(p.Wait(), 0) << p.Output();
  const std::string& out = p.Output();
  EXPECT_NE(out.find("constant:   INPUT1 = [10, 20, 30, 40] (FP32 [4], with every window)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("INPUT1      FP32  [1,4]     10, 20, 30, 40  (constant)"), std::string::npos)
      << out;
  EXPECT_NE(out.find(R"("label":"d","score":41)"), std::string::npos) << out;

  Process json({INFERGATE_BINARY, "inspect", "--json", (repo.path() / "k").string()});
  EXPECT_EQ(json.Wait(), 0) << json.Output();
  auto j = nlohmann::json::parse(json.Output(), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << json.Output();
  const auto& tensors = j[0]["device"]["tensors"];
  ASSERT_EQ(tensors.size(), 2u) << json.Output();
  EXPECT_EQ(tensors[1]["name"], "INPUT1");
  EXPECT_EQ(tensors[1]["constant"], true);
  EXPECT_EQ(tensors[1]["value"], nlohmann::json::parse("[10, 20, 30, 40]"));
}

TEST(InspectDeviceE2ETest, ContractThatDoesNotFitIsAConfigProblem) {
  testing::TempDir repo;
  fs::create_directories(repo.path() / "v" / "1");
  fs::copy_file(kExamples / "vibration_anomaly" / "1" / "model.onnx",
                repo.path() / "v" / "1" / "model.onnx");
  repo.Write("v/config.yaml",
             "device: {inputs: [{name: accel, fields: [a]}], window: {count: 32}, result: {output: "
             "anomaly_score}}\n");
  Process p({INFERGATE_BINARY, "inspect", (repo.path() / "v").string()});
  EXPECT_EQ(p.Wait(), 1) << p.Output();
  EXPECT_NE(p.Output().find("config problem:    config.yaml: device.inputs.accel: a window of 32 "
                            "reading(s) x 1 value(s) "
                            "gives 32 values, but input 'accel' takes [64]"),
            std::string::npos)
      << p.Output();
}

}  // namespace
}  // namespace infergate

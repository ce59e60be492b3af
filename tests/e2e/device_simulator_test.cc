// examples/device_simulator.py against the real mosquitto broker: what it
// publishes is read back with mosquitto_sub and must satisfy the example
// model's device contract (decoded by the telemetry codec, windowed by the
// pipeline into the tensors the model takes).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "config/model_config_yaml.h"
#include "pipeline/contract_runner.h"
#include "protocol/telemetry_json.h"
#include "testing/network.h"
#include "testing/process.h"
#include "testing/temp_dir.h"

namespace infergate {
namespace {

using testing::Process;
namespace fs = std::filesystem;

const fs::path kExamples = INFERGATE_EXAMPLE_MODELS_DIR;

TEST(DeviceSimulatorE2ETest, PublishesTelemetryThatFitsTheVibrationContract) {
  testing::TempDir dir;
  const int port = testing::FreePort();
  ASSERT_GT(port, 0);
  dir.Write("mosquitto.conf",
            "listener " + std::to_string(port) + " 127.0.0.1\nallow_anonymous true\n");
  Process broker({"/usr/sbin/mosquitto", "-v", "-c", (dir.path() / "mosquitto.conf").string()});
  ASSERT_TRUE(broker.WaitForLine("mosquitto version .* running")) << broker.Output();

  const int devices = 2, rounds = 4;
  Process sub({"/usr/bin/mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(port), "-v", "-t",
               "infergate/devices/+/vibration_anomaly", "-C", std::to_string(devices * rounds)});
  // The broker logs the subscription (-v): then nothing published is missed.
  ASSERT_TRUE(broker.WaitForLine(R"( 0 infergate/devices/\+/vibration_anomaly)")) << broker.Output();

  const fs::path simulator = kExamples.parent_path() / "device_simulator.py";
  Process sim({"/usr/bin/python3", simulator.string(), "--port", std::to_string(port), "--devices",
               std::to_string(devices), "--count", std::to_string(rounds), "--rate", "200", "--qos",
               "1"});
  EXPECT_EQ(sim.Wait(), 0) << sim.Output();
  ASSERT_EQ(sub.Wait(), 0) << sub.Output();

  auto config = config::ParseModelConfigFile(kExamples / "vibration_anomaly" / "config.yaml",
                                             "vibration_anomaly");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  core::ManualClock clock;
  auto runner = pipeline::ContractRunner::Create(*config, 1, {&clock, nullptr});
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();

  std::istringstream lines(sub.Output());
  std::string line;
  int messages = 0;
  std::map<std::string, int> windows;
  while (std::getline(lines, line)) {
    const auto space = line.find(' ');
    const std::string topic = line.substr(0, space);
    const size_t at = std::string("infergate/devices/").size();
    const std::string device = topic.substr(at, topic.find('/', at) - at);
    auto telemetry = protocol::DecodeTelemetry(line.substr(space + 1));
    ASSERT_TRUE(telemetry.ok()) << telemetry.status().ToString() << "\n" << line;
    auto id = (*runner)->DeviceId(device, *telemetry);
    ASSERT_TRUE(id.ok());
    auto requests = (*runner)->Accept(*id, *telemetry);
    ASSERT_TRUE(requests.ok()) << requests.status().ToString() << "\n" << line;
    for (const auto& w : requests->run) {
      EXPECT_EQ(w.request->inputs[0].tensor.shape(), (core::Shape{1, 64}));
      ++windows[*id];
    }
    ++messages;
  }
  EXPECT_EQ(messages, devices * rounds);
  // 4 messages of 32 samples: windows at 64, 96 and 128 samples (count 64, hop 32).
  EXPECT_EQ(windows, (std::map<std::string, int>{{"sim-0", 3}, {"sim-1", 3}}));
}

}  // namespace
}  // namespace infergate

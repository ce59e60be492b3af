// A stateful device's stream over MQTT end to end: the real mosquitto broker,
// the real infergate binary and an MQTT 5 device that sends a burst of
// readings back to back, each with the Response Topic and its own
// Correlation Data. Every reading is answered once, to its own message: a
// result carrying the reading's sequence number, or an error naming the
// device's backlog. The results show the readings were run in order. One
// model has Silero VAD's interface, its sample rate a contract constant.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <string>

#include "testing/http_client.h"
#include "testing/mosquitto_broker.h"
#include "testing/mqtt_test_client.h"
#include "testing/process.h"
#include "testing/serve_command.h"
#include "testing/temp_dir.h"

namespace infergate {
namespace {

using nlohmann::json;
using testing::MqttTestClient;
using testing::Process;
using testing::PublishOptions;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kBurst = 20;

// running_mean.onnx (tests/models): the mean of every value the device sent,
// carried in its state; one message (4 values) is one window.
std::string MeanConfig(int max_backlog) {
  return "max_batch_size: 8\n"
         "device:\n"
         "  max_backlog: " +
         std::to_string(max_backlog) +
         "\n"
         "  inputs: [{name: x, fields: [{name: x, length: 4}]}]\n"
         "  state: [{input: h_in, output: h_out}]\n"
         "  result: {output: mean, kind: score}\n";
}

class DeviceStreamE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(broker_.Start()) << broker_.Output();
    for (int backlog : {0, 2, 8}) {
      const std::string name = "mean" + std::to_string(backlog);
      fs::create_directories(dir_.path() / "models" / name / "1");
      fs::copy_file(fs::path(INFERGATE_TEST_MODELS_DIR) / "running_mean.onnx",
                    dir_.path() / "models" / name / "1" / "model.onnx");
      dir_.Write("models/" + name + "/config.yaml", MeanConfig(backlog));
    }
    // Silero VAD's interface: audio chunks, the sample rate a constant, the state carried.
    fs::create_directories(dir_.path() / "models" / "vad" / "1");
    fs::copy_file(fs::path(INFERGATE_TEST_MODELS_DIR) / "vad_like.onnx",
                  dir_.path() / "models" / "vad" / "1" / "model.onnx");
    dir_.Write("models/vad/config.yaml",
               "device:\n"
               "  inputs: [{name: input, fields: [{name: x, length: 4}]}]\n"
               "  state: [{input: state, output: stateN}]\n"
               "  constants: {sr: {datatype: INT64, shape: [], value: 16000}}\n"
               "  result: {output: output, kind: score}\n");
    auto config = dir_.Write("infergate.yaml",
                             "model_repository: models\nmodel_control_mode: none\n"
                             "mqtt:\n  broker: " +
                                 broker_.url() + "\n  client_id: ig-streams\n");
    server_ = std::make_unique<Process>(testing::ServeCommand({"--config", config.string()}));
    auto listening = server_->WaitForLine(R"(http: listening on ([0-9.]+):([0-9]+))");
    ASSERT_TRUE(listening) << server_->Output();
    http_ = std::make_unique<testing::CurlClient>("http://" + (*listening)[1] + ":" +
                                                  (*listening)[2]);
    ASSERT_TRUE(server_->WaitForLine(R"(mqtt: subscribed to infergate/devices/\+/\+)"))
        << server_->Output();
  }

  // The value of one sample line of /metrics, 0 when absent.
  double Metric(const std::string& sample) {
    const std::string text = "\n" + http_->Get("/metrics").body;
    const size_t at = text.find("\n" + sample + " ");
    if (at == std::string::npos) return 0;
    return std::stod(text.substr(at + sample.size() + 2));
  }

  void TearDown() override {
    if (server_) {
      EXPECT_EQ(server_->Stop(SIGTERM), 0) << server_->Output();
    }
  }

  // Sends kBurst readings {"seq": i, "x": [i, i, i, i]} back to back to
  // `model` as device `device`, each with Correlation Data "c<i>", and checks
  // the kBurst replies. A result is the mean (the running_mean models) or the
  // sum (`sum`: vad_like) of the values of the readings run so far. Returns
  // how many were errors.
  int Burst(const std::string& model, const std::string& device, bool sum = false) {
    MqttTestClient client(broker_.port(), device);
    EXPECT_TRUE(client.Connect());
    const std::string reply_topic = "reply/" + device;
    EXPECT_TRUE(client.Subscribe(reply_topic));
    for (int i = 0; i < kBurst; ++i) {
      PublishOptions o;
      o.qos = 1;
      o.response_topic = reply_topic;
      o.correlation_data = "c" + std::to_string(i);
      json body = {{"seq", i}, {"x", {i, i, i, i}}};
      EXPECT_TRUE(client.Publish("infergate/devices/" + device + "/" + model, body.dump(), o));
    }
    auto replies = client.WaitForCount(kBurst, 30s);
    EXPECT_EQ(replies.size(), static_cast<size_t>(kBurst)) << server_->Output();
    // No reply beyond one per reading.
    EXPECT_FALSE(client.WaitFor(nullptr, 300ms).has_value());

    std::map<int, double> results;  // seq -> score
    std::map<int, std::string> errors;
    std::set<std::string> correlations;
    for (const auto& m : replies) {
      EXPECT_EQ(m.topic, reply_topic);
      const std::string correlation = m.correlation_data.value_or("");
      EXPECT_TRUE(correlations.insert(correlation).second) << "two replies to " << correlation;
      json body = json::parse(m.payload, nullptr, false);
      EXPECT_TRUE(body.is_object()) << m.payload;
      if (body.contains("error")) {
        const std::string text = body["error"].get<std::string>();
        const int seq = std::stoi(correlation.substr(1));
        EXPECT_NE(text.find("device '" + device + "'"), std::string::npos) << text;
        EXPECT_NE(text.find("(device.max_backlog); window of reading " + std::to_string(seq) +
                            " not run"),
                  std::string::npos)
            << correlation << ": " << text;
        EXPECT_EQ(m.user_properties.count("reason_code") + m.user_properties.count("status"), 2u);
        errors[seq] = text;
        continue;
      }
      const int seq = body["seq"].get<int>();
      EXPECT_EQ(correlation, "c" + std::to_string(seq)) << "the result went to another message";
      EXPECT_EQ(body["device"], device);
      EXPECT_GT(body["ts"].get<double>(), 1.7e9) << "the arrival time, Unix seconds";
      results[seq] = body["score"].get<double>();
    }
    EXPECT_EQ(results.size() + errors.size(), static_cast<size_t>(kBurst));
    // The windows that ran, ran in arrival order: each result is the mean (or
    // sum) of the readings run up to it, and only those.
    double total = 0;
    int n = 0;
    for (const auto& [seq, value] : results) {
      EXPECT_EQ(errors.count(seq), 0u);
      total += seq;
      ++n;
      EXPECT_NEAR(value, sum ? 4 * total : total / n, 1e-3) << "reading " << seq;
    }
    std::cout << model << ": " << results.size() << " results, " << errors.size()
              << " backlog errors\n";
    return static_cast<int>(errors.size());
  }

  testing::MosquittoBroker broker_;
  testing::TempDir dir_;
  std::unique_ptr<Process> server_;
  std::unique_ptr<testing::CurlClient> http_;
};

TEST_F(DeviceStreamE2ETest, ABurstToAStatefulDeviceIsAnsweredReadingByReading) {
  // Silero VAD's shape: 20 chunks, the sample rate fed as a constant.
  const int vad_refused = Burst("vad", "silero-1", true);
  EXPECT_EQ(Metric(R"(infergate_pipeline_telemetry_rejected_total{model="vad",reason="backlog"})"),
            vad_refused);
  for (int backlog : {8, 2, 0}) {
    const std::string model = "mean" + std::to_string(backlog);
    const int refused = Burst(model, "vad-" + std::to_string(backlog));
    // Each refusal is also counted, as before.
    EXPECT_EQ(Metric("infergate_pipeline_telemetry_rejected_total{model=\"" + model +
                     "\",reason=\"backlog\"}"),
              refused);
  }
}

}  // namespace
}  // namespace infergate

// Device contracts over MQTT end to end: devices publish telemetry to the
// real mosquitto broker, the real infergate binary runs the example models'
// contracts (windows, labels, the on: rule) and publishes results back.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "testing/mosquitto_broker.h"
#include "testing/mqtt_test_client.h"
#include "testing/process.h"
#include "testing/serve_command.h"
#include "testing/temp_dir.h"

namespace infergate {
namespace {

using testing::MqttMessage;
using testing::MqttTestClient;
using testing::Process;
using testing::PublishOptions;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kExamples = INFERGATE_EXAMPLE_MODELS_DIR;

// One accelerometer at 1 kHz: a 30 Hz shaft sinusoid; when faulty, 2x and 3x
// harmonics and bearing-defect ring-downs (as examples/device_simulator.py).
class Sensor {
 public:
  explicit Sensor(double phase) : phase_(phase) {}
  // {"accel": [32 samples], "ts": T}
  std::string Message(bool faulty) {
    std::ostringstream out;
    out << R"({"ts":)" << std::fixed << (1.7e9 + n_ / 1000.0) << R"(,"accel":[)";
    for (int i = 0; i < 32; ++i, ++n_) {
      const double t = n_ / 1000.0;
      const double w = 2 * M_PI * 30 * t + phase_;
      double v = std::sin(w);
      if (faulty) {
        const double since = std::fmod(t, 1.0 / 130);
        v += 0.3 * std::sin(2 * w) + 0.2 * std::sin(3 * w) +
             0.8 * std::exp(-since * 400) * std::sin(2 * M_PI * 250 * since);
      }
      out << (i ? "," : "") << v;
    }
    out << "]}";
    return out.str();
  }

 private:
  double phase_;
  int64_t n_ = 0;
};

std::string Row(double temperature, double vibration, double pressure, double rpm, double hours) {
  std::ostringstream out;
  out << R"({"temperature_c":)" << temperature << R"(,"vibration_rms_g":)" << vibration
      << R"(,"pressure_bar":)" << pressure << R"(,"rpm":)" << rpm << R"(,"hours_since_service":)"
      << hours << "}";
  return out.str();
}

bool Has(const MqttMessage& m, const std::string& text) {
  return m.payload.find(text) != std::string::npos;
}

PublishOptions Qos1() {
  PublishOptions o;
  o.qos = 1;
  return o;
}

class MqttTelemetryE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(broker_.Start()) << broker_.Output();
    fs::create_directories(dir_.path() / "models");
    for (const char* model : {"vibration_anomaly", "predictive_maintenance"}) {
      fs::copy(kExamples / model, dir_.path() / "models" / model, fs::copy_options::recursive);
    }
  }

  // infergate with `mqtt_yaml` (indented by two) added to its mqtt: section;
  // returns once it subscribed to `last_filter`.
  std::unique_ptr<Process> Serve(const std::string& mqtt_yaml, const std::string& last_filter) {
    auto config = dir_.Write("infergate.yaml",
                             "model_repository: models\nmodel_control_mode: none\n"
                             "mqtt:\n  broker: " +
                                 broker_.url() + "\n  client_id: ig-telemetry\n" + mqtt_yaml);
    auto p = std::make_unique<Process>(testing::ServeCommand({"--config", config.string()}));
    EXPECT_TRUE(p->WaitForLine("mqtt: subscribed to " + last_filter)) << p->Output();
    return p;
  }

  std::unique_ptr<MqttTestClient> Client(const std::string& id) {
    auto c = std::make_unique<MqttTestClient>(broker_.port(), id);
    EXPECT_TRUE(c->Connect());
    return c;
  }

  testing::MosquittoBroker broker_;
  testing::TempDir dir_;
};

// Windows of 64 samples fill from messages of 32; healthy devices are told
// "normal" once (on: change), the device that turns faulty hears "anomaly".
TEST_F(MqttTelemetryE2ETest, VibrationAlertsOnlyWhenADeviceTurnsFaulty) {
  auto server = Serve(R"(  routes:
    - topic: plant/+device/vibration
      model: vibration_anomaly
      format: telemetry
      reply_topic: plant/{device}/vibration/state
)",
                      R"(infergate/devices/\+/\+)");
  auto client = Client("vib-devices");
  ASSERT_TRUE(client->Subscribe("infergate/devices/+/vibration_anomaly/result"));
  ASSERT_TRUE(client->Subscribe("plant/+/vibration/state"));

  Sensor pump1(0.1), pump2(1.3), pump3(2.2);
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(client->Publish("infergate/devices/pump-1/vibration_anomaly", pump1.Message(false),
                                Qos1()));
    ASSERT_TRUE(client->Publish("infergate/devices/pump-2/vibration_anomaly", pump2.Message(false),
                                Qos1()));
    ASSERT_TRUE(client->Publish("plant/pump-3/vibration", pump3.Message(false), Qos1()));
  }
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(
        client->Publish("infergate/devices/pump-2/vibration_anomaly", pump2.Message(true), Qos1()));
  }
  auto alert = client->WaitFor([](const MqttMessage& m) { return Has(m, R"("label":"anomaly")"); });
  ASSERT_TRUE(alert) << server->Output();
  EXPECT_EQ(alert->topic, "infergate/devices/pump-2/vibration_anomaly/result");
  EXPECT_TRUE(Has(*alert, R"("device":"pump-2")")) << alert->payload;
  EXPECT_TRUE(Has(*alert, R"("alert":true)")) << alert->payload;
  EXPECT_TRUE(Has(*alert, R"("anomaly_score":)")) << alert->payload;

  // Before it, each device's first verdict and nothing else: 5 healthy
  // windows each, one result each under on: change.
  auto before = client->WaitForCount(3, 20s);
  ASSERT_EQ(before.size(), 3u) << server->Output();
  std::set<std::string> topics;
  for (const auto& m : before) {
    topics.insert(m.topic);
    EXPECT_TRUE(Has(m, R"("label":"normal")")) << m.topic << " " << m.payload;
    EXPECT_TRUE(Has(m, R"("alert":false)")) << m.payload;
  }
  EXPECT_EQ(topics, (std::set<std::string>{"infergate/devices/pump-1/vibration_anomaly/result",
                                           "infergate/devices/pump-2/vibration_anomaly/result",
                                           "plant/pump-3/vibration/state"}));
  EXPECT_EQ(server->Stop(SIGTERM), 0) << server->Output();
}

// One row per message; the reply goes to the Response Topic with the
// Correlation Data, names the state and the two likeliest, and comes only
// when the state changes.
TEST_F(MqttTelemetryE2ETest, PredictiveMaintenanceRepliesWhenThePumpsStateChanges) {
  auto server = Serve("", R"(infergate/devices/\+/\+)");
  auto client = Client("pump-7");
  ASSERT_TRUE(client->Subscribe("reply/pump-7"));
  const std::string topic = "infergate/devices/pump-7/predictive_maintenance";
  // Publishes `row` with a Response Topic; the reply carries `correlation`.
  auto send = [&](const std::string& correlation, const std::string& row) {
    PublishOptions o = Qos1();
    o.response_topic = "reply/pump-7";
    o.correlation_data = correlation;
    EXPECT_TRUE(client->Publish(topic, row, o));
  };
  auto reply = [&](const std::string& correlation) {
    auto m = client->WaitOn("reply/pump-7");
    EXPECT_TRUE(m) << server->Output();
    EXPECT_EQ(m.value_or(MqttMessage{}).correlation_data, correlation);
    return m.value_or(MqttMessage{});
  };

  send("k1", Row(52.3, 0.182, 6.05, 1480, 1250));
  auto normal = reply("k1");
  EXPECT_TRUE(Has(normal, R"("label":"normal")")) << normal.payload;
  EXPECT_TRUE(Has(normal, R"("alert":false)")) << normal.payload;
  EXPECT_TRUE(Has(normal, R"("top_k":[{"label":"normal")")) << normal.payload;
  EXPECT_TRUE(Has(normal, R"("device":"pump-7")")) << normal.payload;

  send("k2", Row(78.4, 0.226, 4.62, 1510, 2100));
  auto hot = reply("k2");
  EXPECT_TRUE(Has(hot, R"("label":"overheating")")) << hot.payload;
  EXPECT_TRUE(Has(hot, R"("alert":true)")) << hot.payload;

  // Still overheating: nothing is sent; then back to normal is.
  send("k3", Row(78.9, 0.227, 4.60, 1505, 2100));
  send("k4", Row(52.0, 0.180, 6.07, 1482, 2100));
  auto back = reply("k4");
  EXPECT_TRUE(Has(back, R"("label":"normal")")) << back.payload;
}

// Bad telemetry, unknown models and a full device table are answered with
// errors that say what was wrong; the server goes on serving.
TEST_F(MqttTelemetryE2ETest, BadTelemetryIsAnsweredWithAnErrorNamingTheField) {
  // A copy of the pump model that tracks one device only.
  const fs::path small = dir_.path() / "models" / "pm_one_device";
  fs::copy(dir_.path() / "models" / "predictive_maintenance", small, fs::copy_options::recursive);
  std::ifstream in(small / "config.yaml");
  std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  yaml.replace(yaml.find("max_devices: 10000"), 18, "max_devices: 1");
  yaml.replace(yaml.find("name: predictive_maintenance"), 28, "name: pm_one_device");
  std::ofstream(small / "config.yaml") << yaml;

  auto server = Serve("", R"(infergate/devices/\+/\+)");
  auto client = Client("bad-devices");
  ASSERT_TRUE(client->Subscribe("infergate/devices/+/+/result"));
  const std::string pm = "infergate/devices/d1/predictive_maintenance";
  auto error_for = [&](const std::string& topic, const std::string& body) {
    EXPECT_TRUE(client->Publish(topic, body, Qos1()));
    auto reply = client->WaitOn(topic + "/result");
    EXPECT_TRUE(reply) << server->Output();
    return reply.value_or(MqttMessage{});
  };

  auto wrong_type =
      error_for(pm, R"({"temperature_c":"hot","vibration_rms_g":0.2,"pressure_bar":5,"rpm":1500})");
  EXPECT_TRUE(Has(wrong_type, "temperature_c")) << wrong_type.payload;
  EXPECT_TRUE(Has(wrong_type, R"("error":)")) << wrong_type.payload;
  EXPECT_EQ(wrong_type.user_properties["status"], "INVALID_ARGUMENT");
  EXPECT_EQ(wrong_type.user_properties["reason_code"], "153");

  auto missing =
      error_for(pm, R"({"temperature_c":50,"pressure_bar":5,"rpm":1500,"hours_since_service":9})");
  EXPECT_TRUE(Has(missing, "vibration_rms_g")) << missing.payload;

  auto malformed = error_for(pm, R"({"temperature_c": 5)");
  EXPECT_TRUE(Has(malformed, "telemetry for model 'predictive_maintenance'")) << malformed.payload;

  auto accel = error_for("infergate/devices/d1/vibration_anomaly", R"({"accel":[0.1,"x"]})");
  EXPECT_TRUE(Has(accel, "accel")) << accel.payload;

  auto unknown = error_for("infergate/devices/d1/no_such_model", R"({"v":1})");
  EXPECT_EQ(unknown.user_properties["status"], "NOT_FOUND");
  EXPECT_TRUE(Has(unknown, "no_such_model")) << unknown.payload;

  const std::string row = Row(52.3, 0.182, 6.05, 1480, 1250);
  auto first = error_for("infergate/devices/a/pm_one_device", row);
  EXPECT_TRUE(Has(first, R"("label":"normal")")) << first.payload;
  auto refused = error_for("infergate/devices/b/pm_one_device", row);
  EXPECT_TRUE(Has(refused, "max_devices")) << refused.payload;
  EXPECT_EQ(refused.user_properties["status"], "UNAVAILABLE");
  EXPECT_EQ(refused.user_properties["reason_code"], "151");  // quota exceeded, as HTTP's 503

  auto good = error_for(pm, row);
  EXPECT_TRUE(Has(good, R"("label":"normal")")) << good.payload;
  EXPECT_EQ(server->Stop(SIGTERM), 0) << server->Output();
}

// examples/device_simulator.py with its defaults for topic and model drives
// the server: the faulty sensor is reported as an anomaly, the others as normal.
TEST_F(MqttTelemetryE2ETest, TheDeviceSimulatorDrivesTheServer) {
  auto server = Serve("", R"(infergate/devices/\+/\+)");
  auto client = Client("dashboard");
  ASSERT_TRUE(client->Subscribe("infergate/devices/+/vibration_anomaly/result"));
  Process sim({"/usr/bin/python3", (kExamples.parent_path() / "device_simulator.py").string(),
               "--port", std::to_string(broker_.port()), "--devices", "3", "--count", "12",
               "--rate", "200", "--fault-after", "0", "--qos", "1"});
  EXPECT_EQ(sim.Wait(30s), 0) << sim.Output();
  EXPECT_NE(sim.Output().find("36 messages from 3 devices"), std::string::npos) << sim.Output();
  auto on = [&](const std::string& device) {
    auto m = client->WaitOn("infergate/devices/" + device + "/vibration_anomaly/result");
    EXPECT_TRUE(m) << device << "\n" << server->Output();
    return m.value_or(MqttMessage{});
  };
  EXPECT_TRUE(Has(on("sim-0"), R"("label":"anomaly")"));
  EXPECT_TRUE(Has(on("sim-1"), R"("label":"normal")"));
  EXPECT_TRUE(Has(on("sim-2"), R"("label":"normal")"));
}

}  // namespace
}  // namespace infergate

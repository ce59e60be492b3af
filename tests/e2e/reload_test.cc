// SIGHUP end to end: the real infergate binary, the real mosquitto broker and
// a device (libmosquitto). The MQTT routes change without a restart: a route
// added to the config file answers, a removed one no longer does, requests
// in flight on a removed route are still answered where it said, routes that
// do not build change nothing, a changed key that needs a restart is named,
// and routes changed while the broker is away are what the reconnect subscribes.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <regex>
#include <string>

#include "testing/http_client.h"
#include "testing/mlp_json.h"
#include "testing/model_repo.h"
#include "testing/mosquitto_broker.h"
#include "testing/mqtt_test_client.h"
#include "testing/process.h"
#include "testing/serve_command.h"
#include "testing/temp_dir.h"

namespace infergate {
namespace {

using Clock = std::chrono::steady_clock;
using testing::MetricValue;
using testing::MlpJsonBody;
using testing::MqttMessage;
using namespace std::chrono_literals;

// A route `<prefix>/+device/infer` -> `model`, answered on `<prefix>/{device}/result`.
std::string Route(const std::string& prefix, const std::string& model) {
  return "    - topic: " + prefix + "/+device/infer\n      model: " + model + "\n      reply_topic: '" + prefix +
         "/{device}/result'\n";
}

class ReloadE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(broker_.Start()) << broker_.Output();
    testing::CopyModel(repo_, "mlp16.onnx", "mlp");
    // "slow" holds its requests for 5 s (the batch of 128 it waits for never
    // fills), so they are in flight across a reload.
    testing::CopyModel(repo_, "mlp16.onnx", "slow");
    repo_.Write("slow/config.yaml",
                "max_batch_size: 128\ndynamic_batching:\n  preferred_batch_size: [128]\n"
                "  max_queue_delay_microseconds: 5000000\n");
  }

  // Writes the config file: `mqtt_yaml` (indented by two) after the broker
  // and client id, the default routes off.
  void WriteConfig(const std::string& mqtt_yaml) {
    config_ = dir_.Write("infergate.yaml", "model_repository: " + repo_.path().string() +
                                               "\nmodel_control_mode: none\nmqtt:\n  broker: " + broker_.url() +
                                               "\n  client_id: ig-reload\n  reconnect_min_secs: 0.1\n"
                                               "  default_route: false\n  default_telemetry_route: false\n" +
                                               mqtt_yaml);
  }

  void Start() {
    server_ = std::make_unique<testing::Process>(testing::ServeCommand({"--config", config_.string()}));
    auto port = server_->WaitForLine("http: listening on [^:]+:([0-9]+)");
    ASSERT_TRUE(port) << server_->Output();
    http_base_ = "http://127.0.0.1:" + (*port)[1];
    ASSERT_TRUE(server_->WaitForLine("infergate ready")) << server_->Output();
  }

  // Sends SIGHUP; true once the server logged `line` (a regex) after it.
  bool Sighup(const std::string& line) {
    if (kill(server_->pid(), SIGHUP) != 0) return false;
    return server_->WaitForLine(line).has_value();
  }

  // Waits until the server's log has `text` (whether or not a WaitForLine read past it).
  bool OutputHas(const std::string& text) {
    for (const auto until = Clock::now() + 20s; Clock::now() < until;) {
      if (server_->Output().find(text) != std::string::npos) return true;
      server_->WaitForLine("^$never", 50ms);  // reads what comes meanwhile
    }
    return false;
  }

  double Metric(const std::string& series) {
    testing::CurlClient http(http_base_);
    return MetricValue(http.Get("/metrics").body, series);
  }

  // Persistent, so that a session outlives a broker restart.
  testing::MosquittoBroker broker_{"", testing::MosquittoBroker::Persistence::kOn};
  testing::TempDir repo_;
  testing::TempDir dir_;
  std::filesystem::path config_;
  std::unique_ptr<testing::Process> server_;
  std::string http_base_;
};

TEST_F(ReloadE2ETest, SighupAddsAndRemovesRoutesAndNamesWhatNeedsARestart) {
  WriteConfig("  routes:\n" + Route("a", "mlp"));
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_TRUE(OutputHas("mqtt: subscribed to a/+/infer")) << server_->Output();
  testing::MqttTestClient device(broker_.port(), "device");
  ASSERT_TRUE(device.Connect());
  ASSERT_TRUE(device.Subscribe("+/+/result"));
  ASSERT_TRUE(device.Publish("a/d1/infer", MlpJsonBody("a1")));
  auto first = device.WaitOn("a/d1/result");
  ASSERT_TRUE(first) << server_->Output();
  EXPECT_NE(first->payload.find("\"a1\""), std::string::npos) << first->payload;

  // Route a removed, route b added; max_inflight changes too, which needs a restart.
  WriteConfig("  max_inflight: 100\n  routes:\n" + Route("b", "mlp"));
  ASSERT_TRUE(Sighup("SIGHUP: applied: mqtt.routes")) << server_->Output();
  ASSERT_TRUE(server_->WaitForLine("SIGHUP: needs a restart to apply: mqtt.max_inflight")) << server_->Output();
  ASSERT_TRUE(OutputHas("mqtt: subscribed to b/+/infer")) << server_->Output();
  ASSERT_TRUE(OutputHas("mqtt: unsubscribed from a/+/infer")) << server_->Output();
  // One device connection, in order: an answer on a would come before b's.
  ASSERT_TRUE(device.Publish("a/d1/infer", MlpJsonBody("a2")));
  ASSERT_TRUE(device.Publish("b/d1/infer", MlpJsonBody("b1")));
  auto added = device.WaitOn("b/d1/result");
  ASSERT_TRUE(added) << server_->Output();
  EXPECT_NE(added->payload.find("\"b1\""), std::string::npos) << added->payload;
  EXPECT_FALSE(device.WaitOn("a/d1/result", 0ms)) << "the removed route still answers";

  // Routes that do not build: the error names the route, b keeps answering.
  WriteConfig("  max_inflight: 100\n  routes:\n    - {topic: 'c/#/infer', model: mlp, reply_topic: c/result}\n");
  ASSERT_TRUE(Sighup("SIGHUP: mqtt.routes not applied, the running value stays: mqtt.routes\\[0\\] \\(c/#/infer\\)"))
      << server_->Output();
  ASSERT_TRUE(device.Publish("b/d1/infer", MlpJsonBody("b2")));
  auto kept = device.WaitOn("b/d1/result");
  ASSERT_TRUE(kept) << server_->Output();
  EXPECT_NE(kept->payload.find("\"b2\""), std::string::npos) << kept->payload;
  EXPECT_EQ(server_->Stop(SIGTERM), 0) << server_->Output();
}

TEST_F(ReloadE2ETest, RequestsInFlightOnARemovedRouteAreAnsweredWhereItSaid) {
  constexpr int kRequests = 6;
  WriteConfig("  routes:\n" + Route("s", "slow") + Route("a", "mlp"));
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_TRUE(OutputHas("mqtt: subscribed to s/+/infer")) << server_->Output();
  testing::MqttTestClient device(broker_.port(), "device");
  ASSERT_TRUE(device.Connect());
  ASSERT_TRUE(device.Subscribe("s/+/result"));
  testing::PublishOptions qos1;
  qos1.qos = 1;
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(device.Publish("s/d" + std::to_string(i) + "/infer", MlpJsonBody("s" + std::to_string(i)), qos1));
  }
  const std::string in_flight = R"(infergate_inference_in_flight{model="slow",version="1"})";
  for (const auto until = Clock::now() + 20s; Metric(in_flight) < kRequests && Clock::now() < until;) {
  }
  ASSERT_EQ(Metric(in_flight), kRequests) << server_->Output();

  WriteConfig("  routes:\n" + Route("a", "mlp"));
  ASSERT_TRUE(Sighup("SIGHUP: applied: mqtt.routes")) << server_->Output();
  ASSERT_TRUE(OutputHas("mqtt: unsubscribed from s/+/infer")) << server_->Output();
  EXPECT_EQ(Metric(in_flight), kRequests) << "the requests were answered before the reload";
  auto replies = device.WaitForCount(kRequests, 20s);
  ASSERT_EQ(replies.size(), static_cast<size_t>(kRequests)) << server_->Output();
  for (const MqttMessage& m : replies) {
    const std::string n = m.topic.substr(3, m.topic.find('/', 3) - 3);  // s/d<n>/result
    EXPECT_EQ(m.topic, "s/d" + n + "/result");
    EXPECT_NE(m.payload.find("\"id\":\"s" + n + "\""), std::string::npos) << m.topic << ": " << m.payload;
    EXPECT_EQ(m.payload.find("\"error\""), std::string::npos) << m.payload;
  }
  EXPECT_EQ(server_->Stop(SIGTERM), 0) << server_->Output();
}

// The broker kept infergate's session (and with it the subscription of a
// route removed while it was away): the reconnect unsubscribes it and
// subscribes the routes in force.
TEST_F(ReloadE2ETest, RoutesChangedWhileTheBrokerIsAwayAreTheOnesSubscribedOnReconnect) {
  WriteConfig("  clean_session: false\n  session_expiry_secs: 300\n  routes:\n" + Route("a", "mlp"));
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_TRUE(OutputHas("mqtt: subscribed to a/+/infer")) << server_->Output();
  broker_.Stop();
  ASSERT_TRUE(OutputHas("mqtt: connection to")) << server_->Output();  // ... lost
  WriteConfig("  clean_session: false\n  session_expiry_secs: 300\n  routes:\n" + Route("b", "mlp"));
  ASSERT_TRUE(Sighup("SIGHUP: applied: mqtt.routes")) << server_->Output();
  ASSERT_TRUE(OutputHas("mqtt: routes reloaded")) << server_->Output();
  ASSERT_TRUE(broker_.Relaunch()) << broker_.Output();
  ASSERT_TRUE(OutputHas("(session kept)")) << server_->Output();
  ASSERT_TRUE(OutputHas("mqtt: unsubscribed from a/+/infer")) << server_->Output();
  ASSERT_TRUE(OutputHas("mqtt: subscribed to b/+/infer")) << server_->Output();

  testing::MqttTestClient device(broker_.port(), "device");
  ASSERT_TRUE(device.Connect());
  ASSERT_TRUE(device.Subscribe("+/+/result"));
  ASSERT_TRUE(device.Publish("a/d1/infer", MlpJsonBody("a1")));
  ASSERT_TRUE(device.Publish("b/d1/infer", MlpJsonBody("b1")));
  auto answered = device.WaitOn("b/d1/result");
  ASSERT_TRUE(answered) << server_->Output();
  // Had the broker still delivered a/d1/infer, it would have come first and found no route.
  EXPECT_LE(Metric(R"(infergate_mqtt_requests_rejected_total{reason="no_route"})"), 0) << server_->Output();
  EXPECT_EQ(server_->Stop(SIGTERM), 0) << server_->Output();
}

}  // namespace
}  // namespace infergate

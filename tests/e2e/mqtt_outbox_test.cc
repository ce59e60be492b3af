// Replies through the durable outbox (mqtt.outbox), end to end: the real
// mosquitto broker, the real binary with a state folder, and a device with a
// persistent session (testing/mqtt_device_session.h). The server answers a
// QoS 1 request while the broker is down: the reply is durable in the outbox
// and the request counts as answered (its inbox record is gone). infergate
// is then killed with SIGKILL; once the broker and infergate are back, the
// device gets its reply from the outbox, and the request is not run again.
#include <gtest/gtest.h>
#include <signal.h>

#include <regex>
#include <string>
#include <thread>

#include "testing/http_client.h"
#include "testing/model_repo.h"
#include "testing/mosquitto_broker.h"
#include "testing/mqtt_device_session.h"
#include "testing/process.h"
#include "testing/serve_command.h"
#include "testing/temp_dir.h"
#include "testing/time_scale.h"

namespace infergate {
namespace {

using testing::Scaled;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr char kModel[] = "mlp16_held";  // mlp16 in batches of 64, held up to 3 s

std::string Request(const std::string& id) {
  std::string data;
  for (int i = 0; i < 16; ++i) data += (i ? "," : "") + std::to_string(i * 0.125);
  return R"({"id":")" + id +
         R"(","inputs":[{"name":"input","shape":[1,16],"datatype":"FP32","data":[)" + data + "]}]}";
}

// The value of the metric line `name_and_labels` in a /metrics page, or -1.
double Metric(const std::string& page, const std::string& name_and_labels) {
  const auto at = page.find("\n" + name_and_labels + " ");
  if (at == std::string::npos) return -1;
  return std::stod(page.substr(at + name_and_labels.size() + 2));
}

class MqttOutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(broker_.Start()) << broker_.Output();
    testing::CopyModel(models_, "mlp16.onnx", kModel);
    models_.Write(std::string(kModel) + "/config.yaml",
                  "max_batch_size: 64\ndynamic_batching: {preferred_batch_size: [64], "
                  "max_queue_delay_microseconds: 3000000}\n");
    WriteConfig("");
  }
  // infergate.yaml with `extra` mqtt keys (each "  key: value\n").
  void WriteConfig(const std::string& extra) {
    config_ = dir_.Write("infergate.yaml",
                         "model_repository: " + models_.path().string() +
                             "\nmodel_control_mode: none\nmqtt:\n  broker: " + broker_.url() +
                             "\n  client_id: ig-outbox\n  default_qos: 1\n"
                             "  reconnect_min_secs: 0.1\n  reconnect_max_secs: 0.5\n" +
                             extra);
  }
  // Started and subscribed.
  std::unique_ptr<testing::Process> StartInfergate() {
    auto p = std::make_unique<testing::Process>(testing::ServeCommand(
        {"--config", config_.string(), "--state-dir", (dir_.path() / "state").string()}));
    auto http = p->WaitForLine("http: listening on [^ ]*:([0-9]+)");
    EXPECT_TRUE(http) << p->Output();
    if (http) http_ = std::make_unique<testing::CurlClient>("http://127.0.0.1:" + (*http)[1]);
    EXPECT_TRUE(p->WaitForLine("mqtt: subscribed to infergate/models/\\+/infer")) << p->Output();
    return p;
  }
  // Publishes request `key` (QoS 1, Correlation Data `key`).
  static bool Ask(testing::MqttDeviceSession& device, const std::string& key) {
    return device.Request(std::string("infergate/models/") + kModel + "/infer", key, Request(key));
  }
  // Polls /metrics (a scrape's interval) until `name_and_labels` reads `value`.
  bool WaitMetric(const std::string& name_and_labels, double value) {
    for (auto end = Clock::now() + Scaled(20s); Clock::now() < end;) {
      if (Metric(http_->Get("/metrics").body, name_and_labels) == value) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  std::string Metrics() { return http_->Get("/metrics").body; }

  testing::MosquittoBroker broker_{"", testing::MosquittoBroker::Persistence::kOn};
  testing::TempDir dir_;
  testing::TempDir models_;
  std::filesystem::path config_;
  std::unique_ptr<testing::CurlClient> http_;
};

TEST_F(MqttOutboxTest, AReplyDurableInTheOutboxSurvivesABrokerOutageAndSigkill) {
  auto server = StartInfergate();
  testing::MqttDeviceSession device(broker_.port(), "outbox-device", "outbox/device/reply");
  ASSERT_TRUE(device.Connect());
  ASSERT_TRUE(Ask(device, "o1"));
  // Journaled in the inbox (and acknowledged for it); the batch holds it for 3 s.
  ASSERT_TRUE(WaitMetric("infergate_mqtt_acknowledgements_total{after=\"journal\"}", 1))
      << Metrics();
  broker_.Stop();  // the broker goes away before the answer
  // Answered while the broker is down: the reply is durable in the outbox and
  // the request's inbox record is gone.
  ASSERT_TRUE(WaitMetric("infergate_outbox_written_total{outbox=\"mqtt\"}", 1)) << Metrics();
  ASSERT_TRUE(WaitMetric("infergate_journal_records{journal=\"mqtt_inbox\"}", 0)) << Metrics();
  EXPECT_EQ(Metric(Metrics(), "infergate_outbox_messages{outbox=\"mqtt\"}"), 1);
  EXPECT_TRUE(device.Replies().empty());
  server->Stop(SIGKILL);

  ASSERT_TRUE(broker_.Relaunch()) << broker_.Output();
  server = StartInfergate();
  EXPECT_TRUE(std::regex_search(server->Output(),
                                std::regex("mqtt: outbox .* \\(1 replies of the previous run")))
      << server->Output();
  EXPECT_EQ(device.WaitAnswered(1, Scaled(10s), Scaled(30s)), 1u) << server->Output();
  EXPECT_EQ(device.Replies()["o1"], 1);
  EXPECT_EQ(device.ErrorReplies(), 0u);
  ASSERT_TRUE(WaitMetric("infergate_outbox_sent_total{outbox=\"mqtt\"}", 1)) << Metrics();
  // Not run again: the restarted server recovered no request and ran none.
  const std::string page = Metrics();
  EXPECT_LE(Metric(page, "infergate_mqtt_inbox_requests_total{outcome=\"recovered\"}"), 0) << page;
  EXPECT_EQ(Metric(page, "infergate_mqtt_requests_total"), 0) << page;
  EXPECT_EQ(Metric(page, "infergate_outbox_messages{outbox=\"mqtt\"}"), 0) << page;
  EXPECT_EQ(server->Stop(SIGTERM), 0) << server->Output();
}

TEST_F(MqttOutboxTest, WithoutAnInboxTheRequestIsAcknowledgedOnceItsReplyIsDurable) {
  WriteConfig("  inbox: {enabled: false}\n");
  models_.Write(std::string(kModel) + "/config.yaml", "max_batch_size: 64\n");
  auto server = StartInfergate();
  testing::MqttDeviceSession device(broker_.port(), "outbox-device-2", "outbox/device2/reply");
  ASSERT_TRUE(device.Connect());
  ASSERT_TRUE(Ask(device, "a1"));
  EXPECT_EQ(device.WaitAnswered(1, Scaled(10s), Scaled(20s)), 1u) << server->Output();
  EXPECT_TRUE(WaitMetric("infergate_mqtt_acknowledgements_total{after=\"outbox\"}", 1))
      << Metrics();
  EXPECT_TRUE(WaitMetric("infergate_outbox_sent_total{outbox=\"mqtt\"}", 1)) << Metrics();
  EXPECT_EQ(server->Stop(SIGTERM), 0) << server->Output();
}

}  // namespace
}  // namespace infergate

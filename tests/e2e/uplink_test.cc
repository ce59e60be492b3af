// The uplink end to end: two real mosquitto brokers (the gateway's local one
// and a "cloud" one) and the real infergate binary. A device publishes
// telemetry on the local broker; its result is answered there and copied to
// the cloud broker under the uplink's topic prefix; the uplink's retained
// status says online with its backlog; while the cloud broker is down the
// results wait in the outbox (metrics) and arrive in order once it is back;
// SIGHUP with a new topic_prefix moves later results under it.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <regex>
#include <sstream>
#include <thread>

#include "testing/http_client.h"
#include "testing/mosquitto_broker.h"
#include "testing/mqtt_test_client.h"
#include "testing/process.h"
#include "testing/serve_command.h"
#include "testing/temp_dir.h"
#include "testing/time_scale.h"

namespace infergate {
namespace {

using testing::MosquittoBroker;
using testing::MqttMessage;
using testing::MqttTestClient;
using testing::Process;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kExamples = INFERGATE_EXAMPLE_MODELS_DIR;
const std::string kDeviceTopic = "infergate/devices/pump-7/predictive_maintenance";
const std::string kLocalResult = kDeviceTopic + "/result";

// predictive_maintenance rows: its on: change rule sends each change.
const std::string kNormal =
    R"({"temperature_c":52.3,"vibration_rms_g":0.182,"pressure_bar":6.05,"rpm":1480,"hours_since_service":1250})";
const std::string kHot =
    R"({"temperature_c":78.4,"vibration_rms_g":0.226,"pressure_bar":4.62,"rpm":1510,"hours_since_service":2100})";

bool Has(const MqttMessage& m, const std::string& text) {
  return m.payload.find(text) != std::string::npos;
}

int64_t SeqOf(const std::string& payload) {
  std::smatch m;
  return std::regex_search(payload, m, std::regex(R"("seq":(\d+))")) ? std::stoll(m[1]) : -1;
}

testing::PublishOptions Qos1() {
  testing::PublishOptions o;
  o.qos = 1;
  return o;
}

class UplinkE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(local_.Start()) << local_.Output();
    ASSERT_TRUE(cloud_.Start()) << cloud_.Output();
    fs::create_directories(dir_.path() / "models");
    fs::copy(kExamples / "predictive_maintenance",
             dir_.path() / "models" / "predictive_maintenance", fs::copy_options::recursive);
  }

  // `extra`: more uplink keys, each line indented by two.
  void WriteConfig(const std::string& prefix, const std::string& forward,
                   const std::string& extra = "") {
    config_ =
        dir_.Write("infergate.yaml",
                   "model_repository: models\nmodel_control_mode: none\nstate_dir: state\n"
                   "mqtt:\n  broker: " +
                       local_.url() +
                       "\n  client_id: ig-edge\n"
                       "uplink:\n  broker: " +
                       cloud_.url() + "\n  topic_prefix: " + prefix + "\n  forward: " + forward +
                       "\n  reconnect_min_secs: 0.1\n  reconnect_max_secs: 0.5\n" + extra);
  }

  // infergate with the uplink; returns once both connections are up (the
  // log lines of the two clients come in any order: the uplink's state is read from /metrics).
  std::unique_ptr<Process> Serve(const std::string& prefix, const std::string& forward) {
    WriteConfig(prefix, forward);
    auto p = std::make_unique<Process>(testing::ServeCommand({"--config", config_.string()}));
    auto http = p->WaitForLine("http: listening on [^ ]*:([0-9]+)");
    EXPECT_TRUE(http) << p->Output();
    if (http) http_ = std::make_unique<testing::CurlClient>("http://127.0.0.1:" + (*http)[1]);
    EXPECT_TRUE(p->WaitForLine(R"(mqtt: subscribed to infergate/devices/\+/\+)")) << p->Output();
    EXPECT_TRUE(http_ && WaitMetric("infergate_uplink_connected 1\n")) << p->Output();
    return p;
  }

  // Waits (polling /metrics, as a scraper would) until it shows `line`.
  bool WaitMetric(const std::string& line) {
    for (auto end = std::chrono::steady_clock::now() + testing::Scaled(20s);
         std::chrono::steady_clock::now() < end;) {
      if (http_->Get("/metrics").body.find(line) != std::string::npos) return true;
      std::this_thread::sleep_for(20ms);  // the polling interval of a scrape
    }
    return false;
  }
  std::string Metrics() { return http_->Get("/metrics").body; }

  MosquittoBroker local_;
  MosquittoBroker cloud_{"", MosquittoBroker::Persistence::kOn};
  testing::TempDir dir_;
  fs::path config_;
  std::unique_ptr<testing::CurlClient> http_;
};

TEST_F(UplinkE2ETest, AlertsArriveOnTheCloudBrokerUnderThePrefixAndTheStatusSaysOnline) {
  MqttTestClient cloud(cloud_.port(), "platform");
  ASSERT_TRUE(cloud.Connect());
  ASSERT_TRUE(cloud.Subscribe("sites/#", 1));
  auto server = Serve("sites/plant-3/gw-17", "alerts");
  MqttTestClient device(local_.port(), "pump-7");
  ASSERT_TRUE(device.Connect());
  ASSERT_TRUE(device.Subscribe(kLocalResult, 1));

  auto status = cloud.WaitOn("sites/plant-3/gw-17/status");
  ASSERT_TRUE(status) << server->Output();
  EXPECT_TRUE(Has(*status, R"({"state":"online","backlog":0)")) << status->payload;
  EXPECT_TRUE(Has(*status, R"("models":{"predictive_maintenance":[1]})")) << status->payload;
  MqttTestClient later(cloud_.port(), "dashboard");  // subscribes after it was published
  ASSERT_TRUE(later.Connect());
  ASSERT_TRUE(later.Subscribe("sites/plant-3/gw-17/status", 1));
  auto retained = later.WaitOn("sites/plant-3/gw-17/status");
  ASSERT_TRUE(retained);
  EXPECT_TRUE(retained->retain);
  EXPECT_EQ(retained->payload, status->payload);

  ASSERT_TRUE(device.Publish(kDeviceTopic, kNormal, Qos1()));
  ASSERT_TRUE(device.Publish(kDeviceTopic, kHot, Qos1()));
  auto normal = device.WaitOn(kLocalResult);
  auto hot = device.WaitOn(kLocalResult);
  ASSERT_TRUE(normal && hot) << server->Output();
  EXPECT_TRUE(Has(*normal, R"("alert":false)")) << normal->payload;
  // Only the alert goes up, with the local reply's body.
  auto up = cloud.WaitOn("sites/plant-3/gw-17/" + kLocalResult);
  ASSERT_TRUE(up) << server->Output();
  EXPECT_EQ(up->payload, hot->payload);
  EXPECT_TRUE(WaitMetric("infergate_uplink_forwarded_total 1\n")) << Metrics();
  EXPECT_TRUE(WaitMetric("infergate_outbox_sent_total{outbox=\"uplink\"} 1\n")) << Metrics();
  const std::string text = Metrics();
  EXPECT_NE(text.find("infergate_uplink_skipped_total{reason=\"not_alert\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("infergate_uplink_connected 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("infergate_mqtt_unacked_publishes{client=\"uplink\"}"), std::string::npos)
      << text;

  EXPECT_EQ(server->Stop(SIGTERM), 0) << server->Output();
  auto offline = cloud.WaitOn("sites/plant-3/gw-17/status");
  ASSERT_TRUE(offline);
  EXPECT_EQ(offline->payload, R"({"state":"offline"})");
}

TEST_F(UplinkE2ETest, ResultsWaitInTheOutboxWhileTheCloudIsDownAndArriveInOrder) {
  // A persistent session on a broker that keeps it across its restart: the
  // platform misses nothing sent while it reconnects.
  auto cloud = std::make_unique<MqttTestClient>(cloud_.port(), "platform", false, false);
  ASSERT_TRUE(cloud->Connect());
  ASSERT_TRUE(cloud->Subscribe("sites/#", 1));
  auto server = Serve("sites/plant-3/gw-17", "results");
  MqttTestClient device(local_.port(), "pump-7");
  ASSERT_TRUE(device.Connect());
  ASSERT_TRUE(device.Subscribe(kLocalResult, 1));
  const std::string up_topic = "sites/plant-3/gw-17/" + kLocalResult;
  ASSERT_TRUE(device.Publish(kDeviceTopic, kNormal, Qos1()));
  ASSERT_TRUE(cloud->WaitOn(up_topic)) << server->Output();
  auto before = device.WaitOn(kLocalResult);
  ASSERT_TRUE(before);

  cloud_.Stop();
  ASSERT_TRUE(WaitMetric("infergate_uplink_connected 0\n")) << Metrics();
  constexpr int kDown = 10;
  std::vector<int64_t> sent;
  for (int i = 0; i < kDown; ++i) {
    ASSERT_TRUE(device.Publish(kDeviceTopic, i % 2 ? kNormal : kHot, Qos1()));
    auto local = device.WaitOn(kLocalResult);  // answered locally, cloud or not
    ASSERT_TRUE(local) << server->Output();
    sent.push_back(SeqOf(local->payload));
  }
  EXPECT_TRUE(
      WaitMetric("infergate_outbox_messages{outbox=\"uplink\"} " + std::to_string(kDown) + "\n"))
      << Metrics();

  ASSERT_TRUE(cloud_.Relaunch()) << cloud_.Output();
  std::vector<int64_t> received;
  while (received.size() < sent.size()) {
    auto m = cloud->WaitFor([&](const MqttMessage& x) { return x.topic == up_topic; },
                            testing::Scaled(20s));
    ASSERT_TRUE(m) << received.size() << " of " << sent.size() << "\n" << server->Output();
    const int64_t seq = SeqOf(m->payload);
    // A QoS 1 duplicate (also of the result before the outage, which the
    // platform's session may get again after the broker's restart).
    if (seq <= (received.empty() ? SeqOf(before->payload) : received.back())) continue;
    received.push_back(seq);
  }
  EXPECT_EQ(received, sent) << "every result, in order";
  EXPECT_TRUE(WaitMetric("infergate_outbox_messages{outbox=\"uplink\"} 0\n")) << Metrics();
  EXPECT_TRUE(WaitMetric("infergate_uplink_connected 1\n")) << Metrics();
  // The status said online with the backlog at the reconnect, and says it
  // drained at its next update (every 10 s while it changes).
  const std::string status_topic = "sites/plant-3/gw-17/status";
  bool reported_backlog = false;
  while (true) {  // statuses in the order published (duplicates possible)
    auto status = cloud->WaitOn(status_topic, testing::Scaled(20s));
    ASSERT_TRUE(status) << server->Output();
    if (Has(*status, R"({"state":"online","backlog":10,)")) reported_backlog = true;
    if (reported_backlog && Has(*status, R"({"state":"online","backlog":0,)")) break;
  }
  EXPECT_EQ(server->Stop(SIGTERM), 0) << server->Output();
}

TEST_F(UplinkE2ETest, SighupWithANewTopicPrefixMovesLaterResultsUnderIt) {
  MqttTestClient cloud(cloud_.port(), "platform");
  ASSERT_TRUE(cloud.Connect());
  ASSERT_TRUE(cloud.Subscribe("#", 1));
  auto server = Serve("sites/old", "results");
  MqttTestClient device(local_.port(), "pump-7");
  ASSERT_TRUE(device.Connect());
  ASSERT_TRUE(device.Publish(kDeviceTopic, kNormal, Qos1()));
  ASSERT_TRUE(cloud.WaitOn("sites/old/" + kLocalResult)) << server->Output();

  WriteConfig("sites/new", "results");
  kill(server->pid(), SIGHUP);
  ASSERT_TRUE(server->WaitForLine("SIGHUP: uplink now .* under sites/new")) << server->Output();
  ASSERT_TRUE(device.Publish(kDeviceTopic, kHot, Qos1()));
  auto moved = cloud.WaitFor([](const MqttMessage& m) {
    return m.topic.rfind("sites/", 0) == 0 && m.topic.find("/status") == std::string::npos;
  });
  ASSERT_TRUE(moved) << server->Output();
  EXPECT_EQ(moved->topic, "sites/new/" + kLocalResult);
  EXPECT_TRUE(Has(*moved, R"("alert":true)")) << moved->payload;

  // An uplink that cannot be opened (its outbox folder cannot be made):
  // the error is logged and the running one goes on.
  WriteConfig("sites/bad", "results", "  outbox: {path: /proc/no/such/outbox.db}\n");
  kill(server->pid(), SIGHUP);
  ASSERT_TRUE(server->WaitForLine("SIGHUP: uplink not applied, the running value stays: .*outbox")) << server->Output();
  ASSERT_TRUE(device.Publish(kDeviceTopic, kNormal, Qos1()));
  auto kept = cloud.WaitFor([](const MqttMessage& m) {
    return m.topic.rfind("sites/", 0) == 0 && m.topic.find("/status") == std::string::npos;
  });
  ASSERT_TRUE(kept) << server->Output();
  EXPECT_EQ(kept->topic, "sites/new/" + kLocalResult);
  EXPECT_EQ(server->Stop(SIGTERM), 0) << server->Output();
}

}  // namespace
}  // namespace infergate

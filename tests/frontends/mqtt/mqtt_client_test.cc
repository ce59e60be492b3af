// MqttClient against the real mosquitto broker: round trips in both protocol
// versions, manual acknowledgements, publishing across a broker restart, the
// broker's Maximum Packet Size, stall detection and TLS.
#include "frontends/mqtt/mqtt_client.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "testing/mosquitto_broker.h"
#include "testing/mqtt_test_client.h"
#include "testing/temp_dir.h"
#include "testing/test_pki.h"

namespace infergate::mqtt {
namespace {

using testing::MosquittoBroker;
using testing::MqttTestClient;
using namespace std::chrono_literals;

// Records what the client hands over. On each connect it subscribes to
// `filter` and publishes a probe to `probe_topic`, which comes back once the
// subscription is in place (the broker handles one connection's packets in order).
class Recorder final : public MqttClientListener {
 public:
  Recorder(std::string filter, std::string probe_topic, bool auto_ack = true)
      : filter_(std::move(filter)), probe_topic_(std::move(probe_topic)), auto_ack_(auto_ack) {}
  void set_client(MqttClient* c) { client_ = c; }

  void OnConnected(bool session_present) override {
    EXPECT_TRUE(client_->Subscribe(filter_, 2).ok());
    EXPECT_TRUE(client_->Publish({probe_topic_, "probe", 0, false, std::nullopt, "", {}}).ok());
    std::lock_guard lock(mu_);
    ++connects_;
    session_present_ = session_present;
    cv_.notify_all();
  }
  void OnDisconnected() override {
    std::lock_guard lock(mu_);
    ++disconnects_;
    cv_.notify_all();
  }
  void OnMessage(IncomingMessage m) override {
    if (auto_ack_) client_->Acknowledge(m.ack);
    std::lock_guard lock(mu_);
    if (m.topic == probe_topic_) {
      ++probes_;
    } else {
      messages_.push_back(std::move(m));
    }
    cv_.notify_all();
  }
  void OnIdle() override {}

  template <typename Pred>
  bool WaitUntil(Pred pred, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(); });
  }
  // Connected and subscribed `n` times in all.
  bool WaitSubscribed(int n = 1, std::chrono::milliseconds timeout = 10s) {
    return WaitUntil([&] { return probes_ >= n; }, timeout);
  }
  bool WaitDisconnects(int n, std::chrono::milliseconds timeout = 10s) {
    return WaitUntil([&] { return disconnects_ >= n; }, timeout);
  }
  bool WaitMessages(size_t n, std::chrono::milliseconds timeout = 10s) {
    return WaitUntil([&] { return messages_.size() >= n; }, timeout);
  }
  std::vector<IncomingMessage> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }
  bool session_present() {
    std::lock_guard lock(mu_);
    return session_present_;
  }

 private:
  const std::string filter_;
  const std::string probe_topic_;
  const bool auto_ack_;
  MqttClient* client_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  int connects_ = 0;
  int disconnects_ = 0;
  int probes_ = 0;
  bool session_present_ = false;
  std::vector<IncomingMessage> messages_;
};

// Collects PublishDone outcomes.
class Outcomes {
 public:
  PublishDone Add() {
    return [this](const core::Status& st) {
      std::lock_guard lock(mu_);
      statuses_.push_back(st);
      cv_.notify_all();
    };
  }
  bool WaitOk(size_t n, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      size_t ok = 0;
      for (const auto& s : statuses_) ok += s.ok();
      return ok >= n;
    });
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return statuses_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<core::Status> statuses_;
};

ClientOptions Options(const MosquittoBroker& broker, const std::string& id, core::MetricsRegistry* metrics) {
  ClientOptions o;
  o.broker = BrokerUrl{"127.0.0.1", broker.port(), false};
  o.client_id = id;
  o.metrics = metrics;
  o.reconnect_min = 50ms;
  o.reconnect_max = 500ms;
  return o;
}

std::unique_ptr<MqttClient> Start(ClientOptions o, Recorder* r) {
  auto c = MqttClient::Create(std::move(o), r);
  EXPECT_TRUE(c.ok()) << c.status().message();
  if (!c.ok()) return nullptr;
  r->set_client(c->get());
  (*c)->Start();
  return std::move(*c);
}

testing::PublishOptions Qos1() {
  testing::PublishOptions o;
  o.qos = 1;
  return o;
}

uint64_t Failures(core::MetricsRegistry& m, const std::string& reason) {
  return m.GetCounter("infergate_mqtt_publish_failures_total", "", {{"reason", reason}}).value();
}

class MqttClientVersionTest : public ::testing::TestWithParam<bool> {};

TEST_P(MqttClientVersionTest, RequestAndReplyRoundTrip) {
  const bool v5 = GetParam();
  MosquittoBroker broker;
  ASSERT_TRUE(broker.Start());
  core::MetricsRegistry metrics;
  Recorder rec("req/#", "req/probe");
  auto o = Options(broker, v5 ? "rt5" : "rt311", &metrics);
  o.mqtt5 = v5;
  auto client = Start(o, &rec);
  ASSERT_TRUE(rec.WaitSubscribed());

  MqttTestClient device(broker.port(), "device", v5);
  ASSERT_TRUE(device.Connect());
  ASSERT_TRUE(device.Subscribe("reply/#"));
  testing::PublishOptions po;
  po.qos = 1;
  if (v5) {
    po.response_topic = "reply/d1";
    po.correlation_data = std::string("\x01\x00\x02", 3);
    po.expiry_secs = 30;
  }
  ASSERT_TRUE(device.Publish("req/d1", "{\"x\": 1}", po));
  ASSERT_TRUE(rec.WaitMessages(1));
  IncomingMessage m = rec.messages()[0];
  EXPECT_EQ(m.topic, "req/d1");
  EXPECT_EQ(*m.payload, "{\"x\": 1}");
  EXPECT_EQ(m.qos, 1);
  EXPECT_EQ(m.ack.qos, 1);
  EXPECT_NE(m.ack.packet_id, 0);
  if (v5) {
    EXPECT_EQ(m.response_topic, "reply/d1");
    EXPECT_EQ(m.correlation_data, std::string("\x01\x00\x02", 3));
    EXPECT_EQ(m.expiry_secs, 30u);
  }

  Outcomes done;
  OutgoingMessage reply{"reply/d1", "{\"y\": 2}", 1, false, m.correlation_data, "application/json",
                        {{"status", "OK"}}};
  ASSERT_TRUE(client->Publish(reply, done.Add()).ok());
  auto got = device.WaitOn("reply/d1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->payload, "{\"y\": 2}");
  if (v5) {
    EXPECT_EQ(got->correlation_data, std::string("\x01\x00\x02", 3));
    EXPECT_EQ(got->user_properties["status"], "OK");
  }
  EXPECT_TRUE(done.WaitOk(1));

  // QoS 2 both ways: delivered once, acknowledged through PUBREC/PUBREL/PUBCOMP.
  po.qos = 2;
  ASSERT_TRUE(device.Publish("req/q2", "two", po));
  ASSERT_TRUE(rec.WaitMessages(2));
  EXPECT_EQ(rec.messages()[1].qos, 2);
  ASSERT_TRUE(device.WaitPublished(2));
  reply.qos = 2;
  ASSERT_TRUE(client->Publish(reply, done.Add()).ok());
  EXPECT_TRUE(done.WaitOk(2));
  client->Stop(1s);
  EXPECT_EQ(Failures(metrics, "stopped"), 0u);
}

INSTANTIATE_TEST_SUITE_P(Versions, MqttClientVersionTest, ::testing::Values(true, false),
                         [](const auto& param_info) { return param_info.param ? "Mqtt5" : "Mqtt311"; });

TEST(MqttClientTest, UnacknowledgedMessagesAreRedeliveredToAPersistentSession) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.Start());
  core::MetricsRegistry metrics;
  auto o = Options(broker, "acker", &metrics);
  o.clean_session = false;
  o.session_expiry_secs = 300;
  MqttTestClient device(broker.port(), "device");
  ASSERT_TRUE(device.Connect());
  {
    Recorder rec("work/#", "work/probe", /*auto_ack=*/false);
    auto client = Start(o, &rec);
    ASSERT_TRUE(rec.WaitSubscribed());
    ASSERT_TRUE(device.Publish("work/1", "acked", Qos1()));
    ASSERT_TRUE(device.Publish("work/2", "not acked", Qos1()));
    ASSERT_TRUE(rec.WaitMessages(2));
    for (const auto& m : rec.messages()) {
      if (*m.payload == "acked") client->Acknowledge(m.ack);
    }
    client->Stop(1s);
  }
  Recorder rec("work/#", "work/probe");
  auto client = Start(o, &rec);
  ASSERT_TRUE(rec.WaitSubscribed());
  EXPECT_TRUE(rec.session_present());
  ASSERT_TRUE(device.Publish("work/3", "marker", Qos1()));
  ASSERT_TRUE(rec.WaitMessages(2));
  auto got = rec.messages();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(*got[0].payload, "not acked");
  EXPECT_TRUE(got[0].duplicate);
  EXPECT_EQ(*got[1].payload, "marker");
  client->Stop(1s);
}

TEST(MqttClientTest, PublishesWhileTheBrokerIsDownAreSentAfterItReturns) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.Start());
  core::MetricsRegistry metrics;
  Recorder rec("late/#", "late/probe");
  auto client = Start(Options(broker, "late", &metrics), &rec);
  ASSERT_TRUE(rec.WaitSubscribed());
  broker.Stop();
  ASSERT_TRUE(rec.WaitDisconnects(1));
  Outcomes done;
  EXPECT_EQ(client->Publish({"late/0", "qos0", 0, false, std::nullopt, "", {}}, done.Add()).code(),
            core::StatusCode::kUnavailable);
  EXPECT_EQ(Failures(metrics, "disconnected"), 1u);
  ASSERT_TRUE(client->Publish({"late/1", "kept", 1, false, std::nullopt, "", {}}, done.Add()).ok());
  ASSERT_TRUE(broker.Restart());
  ASSERT_TRUE(rec.WaitMessages(1, 20s));
  EXPECT_EQ(*rec.messages()[0].payload, "kept");
  EXPECT_TRUE(done.WaitOk(1));
  EXPECT_EQ(done.count(), 1u);  // the refused QoS 0 publish never calls back
  client->Stop(1s);
}

// The uplink's client next to the frontend's: one registry, separate series
// (metric_labels), and its own status payloads (no "online" at connect: the
// uplink publishes a JSON status itself; a JSON last will).
TEST(MqttClientTest, ASecondClientKeepsItsOwnSeriesAndStatusPayloads) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.Start());
  MqttTestClient watcher(broker.port(), "watcher");
  ASSERT_TRUE(watcher.Connect());
  ASSERT_TRUE(watcher.Subscribe("gw/status", 1));
  core::MetricsRegistry metrics;
  Recorder local_rec("local/#", "local/probe");
  auto local = Start(Options(broker, "local", &metrics), &local_rec);
  Recorder up_rec("up/#", "up/probe");
  ClientOptions o = Options(broker, "up", &metrics);
  o.metric_labels = {{"client", "uplink"}};
  o.status_topic = "gw/status";
  o.status_online = "";
  o.status_offline = R"({"state":"offline"})";
  auto up = Start(o, &up_rec);
  ASSERT_TRUE(local_rec.WaitSubscribed());
  ASSERT_TRUE(up_rec.WaitSubscribed());
  up->PublishStatus(R"({"state":"online","backlog":0})");
  auto online = watcher.WaitOn("gw/status");
  ASSERT_TRUE(online);
  EXPECT_EQ(online->payload, R"({"state":"online","backlog":0})") << "nothing else at connect";

  broker.Stop();
  ASSERT_TRUE(up_rec.WaitDisconnects(1));
  EXPECT_EQ(up->Publish({"up/0", "qos0", 0, false, std::nullopt, "", {}}).code(), core::StatusCode::kUnavailable);
  const std::string text = metrics.RenderPrometheus();
  EXPECT_NE(text.find(R"(infergate_mqtt_publish_failures_total{client="uplink",reason="disconnected"} 1)"),
            std::string::npos) << text;
  EXPECT_EQ(Failures(metrics, "disconnected"), 0u) << "the frontend's series is its own";
  EXPECT_NE(text.find("infergate_mqtt_unacked_publishes 0"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(infergate_mqtt_unacked_publishes{client="uplink"} 0)"), std::string::npos) << text;

  ASSERT_TRUE(broker.Restart());
  ASSERT_TRUE(up_rec.WaitSubscribed(2, 20s));
  MqttTestClient after(broker.port(), "after");
  ASSERT_TRUE(after.Connect());
  ASSERT_TRUE(after.Subscribe("gw/status", 1));
  up->Stop(1s);
  auto offline = after.WaitOn("gw/status");
  ASSERT_TRUE(offline);
  EXPECT_EQ(offline->payload, R"({"state":"offline"})");
  local->Stop(1s);
}

TEST(MqttClientTest, APublishLargerThanTheBrokersMaximumPacketSizeIsRefused) {
  MosquittoBroker broker("max_packet_size 1000\n");
  ASSERT_TRUE(broker.Start());
  core::MetricsRegistry metrics;
  Recorder rec("big/#", "big/probe");
  auto client = Start(Options(broker, "big", &metrics), &rec);
  ASSERT_TRUE(rec.WaitSubscribed());
  EXPECT_EQ(client->max_packet_size(), 1000u);
  Outcomes done;
  auto st = client->Publish({"big/1", std::string(2000, 'x'), 1, false, std::nullopt, "", {}}, done.Add());
  EXPECT_EQ(st.code(), core::StatusCode::kResourceExhausted);
  EXPECT_EQ(Failures(metrics, "too_large"), 1u);
  ASSERT_TRUE(client->Publish({"big/2", std::string(500, 'x'), 1, false, std::nullopt, "", {}}, done.Add()).ok());
  ASSERT_TRUE(rec.WaitMessages(1));
  EXPECT_TRUE(done.WaitOk(1));
  EXPECT_EQ(done.count(), 1u);
  EXPECT_TRUE(client->connected());
  client->Stop(1s);
}

TEST(MqttClientTest, AStalledBrokerIsDetectedAndTheClientReconnects) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.Start());
  core::MetricsRegistry metrics;
  Recorder rec("stall/#", "stall/probe");
  auto o = Options(broker, "staller", &metrics);
  o.stall_timeout = 1s;
  auto client = Start(o, &rec);
  ASSERT_TRUE(rec.WaitSubscribed());
  auto& stalls = metrics.GetCounter("infergate_mqtt_stalls_total", "");
  // The receiver: the client's own subscription is gone with its clean session.
  MqttTestClient device(broker.port(), "device");
  ASSERT_TRUE(device.Connect());
  ASSERT_TRUE(device.Subscribe("stall/#"));
  ASSERT_EQ(kill(broker.pid(), SIGSTOP), 0);
  Outcomes done;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(client->Publish({"stall/1", "held", 1, false, std::nullopt, "", {}}, done.Add()).ok());
  // Noticed within the stall timeout (plus the timer's granularity).
  ASSERT_TRUE(rec.WaitDisconnects(1, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);
  EXPECT_EQ(stalls.value(), 1u);
  EXPECT_GT(metrics.GetGauge("infergate_mqtt_unacked_publishes", "").value() +
                metrics.GetGauge("infergate_mqtt_publish_queue_messages", "").value(),
            0.0);
  ASSERT_EQ(kill(broker.pid(), SIGCONT), 0);
  // Reconnected; the unacknowledged publish is sent again and delivered.
  ASSERT_TRUE(rec.WaitSubscribed(2));
  auto got = device.WaitOn("stall/1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->payload, "held");
  EXPECT_TRUE(done.WaitOk(1));
  client->Stop(1s);
}

TEST(MqttClientTest, AnUnansweredPingIsAStallToo) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.Start());
  core::MetricsRegistry metrics;
  Recorder rec("ping/#", "ping/probe");
  auto o = Options(broker, "pinger", &metrics);
  o.keepalive_secs = 1;
  o.stall_timeout = 1s;
  auto client = Start(o, &rec);
  ASSERT_TRUE(rec.WaitSubscribed());
  ASSERT_EQ(kill(broker.pid(), SIGSTOP), 0);
  // Idle: a PINGREQ after the keepalive, unanswered for the stall timeout.
  ASSERT_TRUE(rec.WaitDisconnects(1, 5s));
  EXPECT_EQ(metrics.GetCounter("infergate_mqtt_stalls_total", "").value(), 1u);
  ASSERT_EQ(kill(broker.pid(), SIGCONT), 0);
  ASSERT_TRUE(rec.WaitSubscribed(2));
  client->Stop(1s);
}

TEST(MqttClientTest, PausedReadingHoldsMessagesUntilResumed) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.Start());
  core::MetricsRegistry metrics;
  Recorder rec("p/#", "p/probe");
  auto client = Start(Options(broker, "pauser", &metrics), &rec);
  ASSERT_TRUE(rec.WaitSubscribed());
  client->SetReadPaused(true);
  MqttTestClient device(broker.port(), "device");
  ASSERT_TRUE(device.Connect());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(device.Publish("p/" + std::to_string(i), std::to_string(i), Qos1()));
  ASSERT_TRUE(device.WaitPublished(3));
  EXPECT_EQ(rec.messages().size(), 0u);
  client->SetReadPaused(false);
  ASSERT_TRUE(rec.WaitMessages(3));
  auto got = rec.messages();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(*got[i].payload, std::to_string(i));
  client->Stop(1s);
}

TEST(MqttClientTest, ConnectsOverTlsAndChecksTheBrokersCertificate) {
  testing::TempDir dir;
  testing::TestPki pki(dir.path());
  ASSERT_TRUE(pki.MakeCa("ca") && pki.MakeServer("server", "ca", 1) && pki.MakeCa("other"));
  // mosquitto started as root reads its files as the mosquitto user.
  namespace fs = std::filesystem;
  fs::permissions(dir.path(), fs::perms::others_exec, fs::perm_options::add);
  for (const auto& f : {pki.Crt("ca"), pki.Crt("server"), pki.Key("server")}) {
    fs::permissions(f, fs::perms::others_read, fs::perm_options::add);
  }
  const int tls_port = testing::FreePort();
  MosquittoBroker broker("listener " + std::to_string(tls_port) + " 127.0.0.1\ncafile " + pki.Crt("ca") +
                         "\ncertfile " + pki.Crt("server") + "\nkeyfile " + pki.Key("server") + "\n");
  ASSERT_TRUE(broker.Start()) << broker.Output();
  core::MetricsRegistry metrics;
  Recorder rec("tls/#", "tls/probe");
  auto o = Options(broker, "tls", &metrics);
  o.broker = BrokerUrl{"127.0.0.1", tls_port, true};
  o.tls_ca_file = pki.Crt("ca");
  auto client = Start(o, &rec);
  ASSERT_TRUE(rec.WaitSubscribed());
  Outcomes done;
  ASSERT_TRUE(client->Publish({"tls/1", "secret", 1, false, std::nullopt, "", {}}, done.Add()).ok());
  ASSERT_TRUE(rec.WaitMessages(1));
  EXPECT_TRUE(done.WaitOk(1));
  client->Stop(1s);

  // Signed by another CA: the handshake fails, nothing connects.
  Recorder other("tls/#", "tls/probe");
  o.client_id = "tls-other";
  o.tls_ca_file = pki.Crt("other");
  auto refused = Start(o, &other);
  EXPECT_FALSE(other.WaitSubscribed(1, 2s));  // the negative case waits its time
  EXPECT_FALSE(refused->connected());
  refused->Stop(0s);
}

}  // namespace
}  // namespace infergate::mqtt

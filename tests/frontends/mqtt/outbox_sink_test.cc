// An edge::Outbox sending through MqttOutboxSink over a real MqttClient and
// mosquitto: nothing is taken while the client is not connected, everything
// goes in order once it connects, and a message larger than the broker's
// Maximum Packet Size is dropped as too large without holding up the rest.
#include "frontends/mqtt/outbox_sink.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "testing/mosquitto_broker.h"
#include "testing/mqtt_test_client.h"
#include "testing/temp_dir.h"

namespace infergate::mqtt {
namespace {

using namespace std::chrono_literals;

// Wakes the outbox on each connect, as the MQTT frontend does.
class WakeOnConnect final : public MqttClientListener {
 public:
  void OnConnected(bool) override {
    if (outbox != nullptr) outbox->Wake();
  }
  void OnDisconnected() override {}
  void OnMessage(IncomingMessage) override {}
  void OnIdle() override {}
  edge::Outbox* outbox = nullptr;
};

class OutboxSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(broker_.Start());
    subscriber_ =
        std::make_unique<testing::MqttTestClient>(broker_.port(), "outbox-sink-subscriber");
    client = Client();
    outbox = Outbox();
    listener_.outbox = outbox.get();
    sink = std::make_unique<MqttOutboxSink>(client.get());
  }
  std::unique_ptr<MqttClient> Client() {
    ClientOptions o;
    o.broker = BrokerUrl{"127.0.0.1", broker_.port(), false};
    o.client_id = "outbox-sink";
    o.metrics = &metrics_;
    o.reconnect_min = 50ms;
    auto created = MqttClient::Create(std::move(o), &listener_);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? std::move(*created) : nullptr;
  }
  std::unique_ptr<edge::Outbox> Outbox() {
    edge::OutboxOptions o;
    o.path = (dir_.path() / "outbox.db").string();
    o.name = "test";
    auto opened = edge::Outbox::Open(o, &metrics_, &core::SteadyClock::Instance(),
                                     &core::SystemWallClock::Instance());
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    return opened.ok() ? std::move(*opened) : nullptr;
  }
  static edge::OutboxMessage Message(const std::string& topic, size_t bytes = 10) {
    edge::OutboxMessage m;
    m.topic = topic;
    m.payload = std::string(bytes, 'x');
    return m;
  }
  uint64_t Dropped(const std::string& reason) {
    return metrics_
        .GetCounter("infergate_outbox_dropped_total", "", {{"outbox", "test"}, {"reason", reason}})
        .value();
  }

  testing::TempDir dir_;
  testing::MosquittoBroker broker_{"max_packet_size 1000\n"};
  core::MetricsRegistry metrics_;
  WakeOnConnect listener_;
  std::unique_ptr<testing::MqttTestClient> subscriber_;
  std::unique_ptr<MqttClient> client;
  std::unique_ptr<edge::Outbox> outbox;
  std::unique_ptr<MqttOutboxSink> sink;
};

TEST_F(OutboxSinkTest, NothingIsTakenBeforeTheConnectionThenAllInOrder) {
  ASSERT_TRUE(subscriber_->Connect());
  ASSERT_TRUE(subscriber_->Subscribe("ob/#", 1));
  EXPECT_EQ(sink->Send(Message("ob/x"), [](const core::Status&) {}).code(),
            core::StatusCode::kUnavailable);  // not connected
  outbox->Start(sink.get());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(outbox->Push(Message("ob/" + std::to_string(i))).ok());
  EXPECT_EQ(outbox->messages(), 20);
  client->Start();  // connects: OnConnected wakes the outbox
  auto received = subscriber_->WaitForCount(20, 20s);
  ASSERT_EQ(received.size(), 20u);
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(received[static_cast<size_t>(i)].topic, "ob/" + std::to_string(i));
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (outbox->messages() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  EXPECT_EQ(outbox->messages(), 0);  // acknowledged by the broker, forgotten
  outbox->Close(1s);
  client->Stop(1s);
}

TEST_F(OutboxSinkTest, AMessageLargerThanTheBrokerAcceptsIsDroppedAsTooLarge) {
  ASSERT_TRUE(subscriber_->Connect());
  ASSERT_TRUE(subscriber_->Subscribe("ob/#", 1));
  client->Start();
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!client->connected() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  outbox->Start(sink.get());
  ASSERT_TRUE(outbox->Push(Message("ob/big", 2000)).ok());
  ASSERT_TRUE(outbox->Push(Message("ob/small")).ok());
  auto received = subscriber_->WaitOn("ob/small", 20s);
  ASSERT_TRUE(received.has_value());
  EXPECT_EQ(Dropped("too_large"), 1u);
  outbox->Close(1s);
  client->Stop(1s);
}

}  // namespace
}  // namespace infergate::mqtt

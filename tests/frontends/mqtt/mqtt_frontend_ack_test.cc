// MqttFrontend against the real broker: a QoS 1 request is acknowledged to
// the broker only once it is answered, so one that infergate never answered
// is delivered again to its persistent session, and one it answered is not.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "frontends/mqtt/mqtt_frontend.h"
#include "testing/held_inference.h"
#include "testing/mosquitto_broker.h"
#include "testing/mqtt_test_client.h"

namespace infergate::mqtt {
namespace {

using namespace std::chrono_literals;

std::string Request(const std::string& id) {
  return R"({"id":")" + id + R"(","inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]})";
}

class MqttFrontendAckTest : public ::testing::Test {
 protected:
  std::unique_ptr<MqttFrontend> StartFrontend(testing::HeldInference* service) {
    config::MqttConfig c;
    c.broker = broker_.url();
    c.client_id = "ack-frontend";
    c.clean_session = false;
    c.session_expiry_secs = 300;
    c.default_telemetry_route = false;
    c.reconnect_min_secs = 0.05;
    auto f = MqttFrontend::Create(c, service, nullptr, &metrics_, &core::SteadyClock::Instance());
    EXPECT_TRUE(f.ok()) << f.status().message();
    EXPECT_TRUE((*f)->Start().ok());
    return std::move(*f);
  }
  bool WaitConnected(uint64_t n) {
    auto& connects = metrics_.GetCounter("infergate_mqtt_connects_total", "");
    for (auto end = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < end;) {
      if (connects.value() >= n) return true;
      std::this_thread::yield();
    }
    return false;
  }

  testing::MosquittoBroker broker_;
  core::MetricsRegistry metrics_;
};

TEST_F(MqttFrontendAckTest, AnUnansweredRequestIsDeliveredAgainAndAnAnsweredOneIsNot) {
  ASSERT_TRUE(broker_.Start());
  testing::MqttTestClient device(broker_.port(), "device");
  ASSERT_TRUE(device.Connect());
  ASSERT_TRUE(device.Subscribe("reply/#"));
  {
    // Makes the persistent session and its subscriptions, then leaves.
    testing::HeldInference service;
    auto frontend = StartFrontend(&service);
    ASSERT_TRUE(WaitConnected(1));
    frontend->Stop();
  }
  testing::PublishOptions o;
  o.qos = 1;
  o.response_topic = "reply/d";
  ASSERT_TRUE(device.Publish("infergate/models/m/infer", Request("answered"), o));
  ASSERT_TRUE(device.Publish("infergate/models/m/infer", Request("held"), o));
  ASSERT_TRUE(device.WaitPublished(2));
  {
    testing::HeldInference service;
    auto frontend = StartFrontend(&service);
    ASSERT_TRUE(service.WaitHeld(2));
    EXPECT_EQ(service.Ids(), (std::vector<std::string>{"answered", "held"}));
    service.Release(0);
    ASSERT_TRUE(device.WaitOn("reply/d"));
    frontend->Stop();  // flushes the acknowledgement of "answered"; "held" was never answered
    service.ReleaseAll();
  }
  testing::HeldInference service;
  auto frontend = StartFrontend(&service);
  ASSERT_TRUE(service.WaitHeld(1));
  ASSERT_TRUE(device.Publish("infergate/models/m/infer", Request("marker"), o));
  ASSERT_TRUE(service.WaitHeld(2));
  EXPECT_EQ(service.Ids(), (std::vector<std::string>{"held", "marker"}));
  service.ReleaseAll();
  frontend->Stop();
}

}  // namespace
}  // namespace infergate::mqtt

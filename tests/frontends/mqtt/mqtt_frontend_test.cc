// MqttFrontend's request handling without a broker: messages go in through
// the listener interface (as the network thread delivers them) and requests
// come out at a holding InferenceService.
#include "frontends/mqtt/mqtt_frontend.h"

#include <gtest/gtest.h>

#include <mutex>

namespace infergate::mqtt {
namespace {

class HoldingService : public core::InferenceService {
 public:
  void Submit(std::unique_ptr<core::InferRequest> request) override {
    std::lock_guard lock(mu_);
    held_.push_back(std::move(request));
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  std::unique_ptr<core::InferRequest> Take(size_t i) {
    std::lock_guard lock(mu_);
    return std::move(held_[i]);
  }
  void CompleteAll() {
    std::lock_guard lock(mu_);
    for (auto& r : held_) {
      if (r) r->on_complete(core::MakeErrorResponse(*r, core::Cancelled("test over")));
      r.reset();
    }
  }

 private:
  std::mutex mu_;
  std::vector<std::unique_ptr<core::InferRequest>> held_;
};

IncomingMessage Request(const std::string& id) {
  IncomingMessage m;
  m.topic = "infergate/models/m/infer";
  m.payload = std::make_shared<const std::string>(
      R"({"id":")" + id + R"(","inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]})");
  m.qos = 1;
  return m;
}

class MqttFrontendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config::MqttConfig c;
    c.broker = "mqtt://127.0.0.1:1";  // never started: the listener is driven directly
    c.client_id = "unit";
    c.max_inflight = 2;
    auto f = MqttFrontend::Create(c, &service_, &metrics_, &clock_);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    frontend_ = std::move(*f);
  }
  void TearDown() override { service_.CompleteAll(); }

  bool Rendered(const std::string& line) {
    return metrics_.RenderPrometheus().find(line) != std::string::npos;
  }

  HoldingService service_;
  core::MetricsRegistry metrics_;
  core::ManualClock clock_{core::TimePoint(std::chrono::seconds(100))};
  std::unique_ptr<MqttFrontend> frontend_;
};

TEST_F(MqttFrontendTest, DecodesTheTopicsModelAndTheMessageExpiryAsDeadline) {
  auto m = Request("r1");
  m.expiry_secs = 5;
  frontend_->OnMessage(std::move(m));
  ASSERT_EQ(service_.size(), 1u);
  auto r = service_.Take(0);
  EXPECT_EQ(r->model_name, "m");
  EXPECT_EQ(r->id, "r1");
  ASSERT_TRUE(r->deadline.has_value());
  EXPECT_EQ(*r->deadline, clock_.Now() + std::chrono::seconds(5));
  r->on_complete(core::MakeErrorResponse(*r, core::Cancelled("done")));
  EXPECT_TRUE(Rendered("infergate_mqtt_requests_rejected_total{reason=\"cancelled\"} 1"));
  EXPECT_TRUE(Rendered("infergate_mqtt_inflight_requests 0"));
}

TEST_F(MqttFrontendTest, BoundsRequestsInFlightThenQueuesThenRefuses) {
  for (int i = 0; i < 5; ++i) frontend_->OnMessage(Request("r" + std::to_string(i)));
  // Two submitted, two waiting for a slot, the fifth refused at once.
  EXPECT_EQ(service_.size(), 2u);
  EXPECT_TRUE(Rendered("infergate_mqtt_requests_rejected_total{reason=\"overloaded\"} 1"));
  frontend_->OnIdle();
  EXPECT_EQ(service_.size(), 2u);  // still no free slot
  auto first = service_.Take(0);
  first->on_complete(core::MakeErrorResponse(*first, core::Cancelled("done")));
  frontend_->OnIdle();  // what the network thread does when woken
  EXPECT_EQ(service_.size(), 3u);
  EXPECT_TRUE(Rendered("infergate_mqtt_requests_total 3"));
}

TEST_F(MqttFrontendTest, RefusesMalformedAndUnroutedMessagesWithoutSubmitting) {
  auto bad = Request("x");
  bad.payload = std::make_shared<const std::string>("{\"inputs\": [");
  frontend_->OnMessage(std::move(bad));
  auto unrouted = Request("y");
  unrouted.topic = "elsewhere/infer";
  frontend_->OnMessage(std::move(unrouted));
  EXPECT_EQ(service_.size(), 0u);
  EXPECT_TRUE(Rendered("infergate_mqtt_requests_rejected_total{reason=\"malformed\"} 1"));
  EXPECT_TRUE(Rendered("infergate_mqtt_requests_rejected_total{reason=\"no_route\"} 1"));
}

}  // namespace
}  // namespace infergate::mqtt

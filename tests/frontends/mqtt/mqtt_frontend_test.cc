// MqttFrontend's request handling without a broker: messages go in through
// the listener interface (as the network thread delivers them) and requests
// come out at a holding InferenceService.
#include "frontends/mqtt/mqtt_frontend.h"

#include <gtest/gtest.h>

#include <functional>
#include <mutex>

#include "pipeline/contracts.h"
#include "pipeline/device_service.h"
#include "testing/fake_backend.h"
#include "testing/temp_dir.h"
#include "testing/served_repository.h"

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
  void SetUp() override { Recreate([](config::MqttConfig&) {}); }
  // (Re)creates the frontend with the test's config changed by `change`.
  void Recreate(const std::function<void(config::MqttConfig&)>& change) {
    config::MqttConfig c;
    c.broker = "mqtt://127.0.0.1:1";  // never started: the listener is driven directly
    c.client_id = "unit";
    c.max_inflight = 2;
    c.default_telemetry_route = false;  // telemetry needs device contracts (e2e tests cover it)
    change(c);
    config_ = c;
    frontend_.reset();
    auto f = MqttFrontend::Create(c, &service_, nullptr, &metrics_, &clock_);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    frontend_ = std::move(*f);
  }
  // Completes request `i`; returns the model it asked for.
  std::string Complete(size_t i) {
    auto r = service_.Take(i);
    r->on_complete(core::MakeErrorResponse(*r, core::Cancelled("done")));
    return r->model_name;
  }
  void TearDown() override { service_.CompleteAll(); }

  bool Rendered(const std::string& line) {
    return metrics_.RenderPrometheus().find(line) != std::string::npos;
  }

  HoldingService service_;
  core::MetricsRegistry metrics_;
  core::ManualClock clock_{core::TimePoint(std::chrono::seconds(100))};
  std::unique_ptr<MqttFrontend> frontend_;
  config::MqttConfig config_;  // the frontend's
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

TEST_F(MqttFrontendTest, AnswersOverloadFastUntilTheReplyRateRunsOutThenPausesReading) {
  Recreate([](config::MqttConfig& c) { c.max_overload_replies_per_sec = 2; });
  for (int i = 0; i < 4; ++i) frontend_->OnMessage(Request("r" + std::to_string(i)));  // 2 run, 2 wait
  frontend_->OnMessage(Request("o1"));
  EXPECT_TRUE(Rendered("infergate_mqtt_requests_rejected_total{reason=\"overloaded\"} 1"));
  EXPECT_TRUE(Rendered("infergate_mqtt_overload_pauses_total 0"));  // still reading
  frontend_->OnMessage(Request("o2"));  // the bucket's last token: reading pauses
  EXPECT_TRUE(Rendered("infergate_mqtt_requests_rejected_total{reason=\"overloaded\"} 2"));
  EXPECT_TRUE(Rendered("infergate_mqtt_overload_pauses_total 1"));
  frontend_->OnIdle();  // still paused: counted once
  EXPECT_TRUE(Rendered("infergate_mqtt_overload_pauses_total 1"));
  clock_.Advance(std::chrono::seconds(1));
  frontend_->OnIdle();  // tokens are back: reading resumes
  frontend_->OnMessage(Request("o3"));
  EXPECT_TRUE(Rendered("infergate_mqtt_requests_rejected_total{reason=\"overloaded\"} 3"));
  EXPECT_TRUE(Rendered("infergate_mqtt_overload_pauses_total 1"));
  EXPECT_EQ(service_.size(), 2u);
}

TEST_F(MqttFrontendTest, PastTheReplyRateQos0IsShedAndReadingGoesOn) {
  Recreate([](config::MqttConfig& c) { c.max_overload_replies_per_sec = 1; });
  for (int i = 0; i < 4; ++i) frontend_->OnMessage(Request("r" + std::to_string(i)));  // 2 run, 2 wait
  for (int i = 0; i < 3; ++i) {
    IncomingMessage m = Request("q" + std::to_string(i));
    m.qos = 0;
    frontend_->OnMessage(std::move(m));
  }
  // One overloaded reply (the bucket's token), two shed, and no pause: what
  // is read next is fresh.
  EXPECT_TRUE(Rendered("infergate_mqtt_requests_rejected_total{reason=\"overloaded\"} 1"));
  EXPECT_TRUE(Rendered("infergate_mqtt_requests_shed_total 2"));
  EXPECT_TRUE(Rendered("infergate_mqtt_overload_pauses_total 0"));
  frontend_->OnMessage(Request("qos1"));  // a QoS 1 request past the rate: answered, then reading pauses
  EXPECT_TRUE(Rendered("infergate_mqtt_requests_rejected_total{reason=\"overloaded\"} 2"));
  EXPECT_TRUE(Rendered("infergate_mqtt_overload_pauses_total 1"));
}

TEST_F(MqttFrontendTest, TheRetryHintGrowsWithTheTimeTheBacklogTakes) {
  for (int i = 0; i < 5; ++i) frontend_->OnMessage(Request("r" + std::to_string(i)));  // the fifth: overloaded
  EXPECT_TRUE(Rendered("infergate_mqtt_overload_retry_after_ms 1000"));  // no answers yet: the configured hint
  // Answers that took 4 s each in the scheduler.
  for (size_t i = 0; i < 2; ++i) {
    auto r = service_.Take(i);
    auto response = std::make_unique<core::InferResponse>();
    response->model_name = r->model_name;
    response->queue_time = std::chrono::seconds(3);
    response->compute_time = std::chrono::seconds(1);
    r->on_complete(std::move(response));
  }
  frontend_->OnIdle();  // the two waiting run
  for (int i = 5; i < 8; ++i) frontend_->OnMessage(Request("r" + std::to_string(i)));  // 2 wait, 1 overloaded
  // 2 in flight and 2 waiting at 2 per 4 s: answered in 8 s.
  EXPECT_TRUE(Rendered("infergate_mqtt_overload_retry_after_ms 8000"));
}

TEST_F(MqttFrontendTest, AMessageThatExpiresWhileWaitingIsAnsweredInsteadOfRun) {
  frontend_->OnMessage(Request("r0"));
  frontend_->OnMessage(Request("r1"));
  auto expiring = Request("r2");
  expiring.expiry_secs = 2;
  frontend_->OnMessage(std::move(expiring));
  frontend_->OnMessage(Request("r3"));
  clock_.Advance(std::chrono::seconds(3));
  Complete(0);
  frontend_->OnIdle();
  ASSERT_EQ(service_.size(), 3u);
  EXPECT_EQ(service_.Take(2)->id, "r3");
  EXPECT_TRUE(Rendered("infergate_mqtt_requests_rejected_total{reason=\"deadline_exceeded\"} 1"));
}

TEST_F(MqttFrontendTest, TheReplyTopicParameterMustStartWithThePrefix) {
  auto request = [](const std::string& id, const std::string& topic) {
    IncomingMessage m = Request(id);
    m.payload = std::make_shared<const std::string>(
        R"({"id":")" + id + R"(","parameters":{"reply_topic":")" + topic +
        R"(","correlation_id":"c-1","priority":1},"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]})");
    return m;
  };
  frontend_->OnMessage(request("out", "dev/42/reply"));
  frontend_->OnMessage(request("wild", "infergate/+/reply"));
  EXPECT_EQ(service_.size(), 0u);
  EXPECT_TRUE(Rendered("infergate_mqtt_requests_rejected_total{reason=\"bad_reply_topic\"} 2"));
  frontend_->OnMessage(request("in", "infergate/replies/42"));
  ASSERT_EQ(service_.size(), 1u);
  auto r = service_.Take(0);
  // The reply parameters steer the reply; the model sees the others only.
  EXPECT_EQ(r->parameters.size(), 1u);
  EXPECT_TRUE(r->parameters.count("priority"));
  r->on_complete(core::MakeErrorResponse(*r, core::Cancelled("done")));

  Recreate([](config::MqttConfig& c) { c.reply_topic_prefix = ""; });  // any topic
  frontend_->OnMessage(request("any", "dev/42/reply"));
  EXPECT_EQ(service_.size(), 2u);
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

IncomingMessage On(const std::string& topic, const std::string& id) {
  auto m = Request(id);
  m.topic = topic;
  return m;
}

// The routes of a reload: plant/<device>/infer -> m2 instead of the default route.
config::MqttConfig PlantRoutes(config::MqttConfig c) {
  c.default_route = false;
  config::MqttRouteConfig route;
  route.topic = "plant/+device/infer";
  route.model = "m2";
  route.reply_topic = "plant/{device}/result";
  c.routes = {route};
  return c;
}

TEST_F(MqttFrontendTest, UpdatedRoutesServeOnceTheNetworkThreadSwapsThemIn) {
  Recreate([](config::MqttConfig& c) { c.max_inflight = 8; });
  frontend_->OnMessage(On("plant/d1/infer", "before"));
  EXPECT_TRUE(Rendered("infergate_mqtt_requests_rejected_total{reason=\"no_route\"} 1"));
  ASSERT_TRUE(frontend_->UpdateRoutes(PlantRoutes(config_)).ok());
  frontend_->OnMessage(Request("old"));  // not swapped yet: the default route serves
  ASSERT_EQ(service_.size(), 1u);
  frontend_->OnIdle();  // what the network thread does when woken
  frontend_->OnMessage(On("plant/d1/infer", "new"));
  ASSERT_EQ(service_.size(), 2u);
  EXPECT_EQ(Complete(1), "m2");
  frontend_->OnMessage(Request("gone"));  // the default route is off now
  EXPECT_EQ(service_.size(), 2u);
  EXPECT_TRUE(Rendered("infergate_mqtt_requests_rejected_total{reason=\"no_route\"} 2"));
}

TEST_F(MqttFrontendTest, RoutesThatDoNotBuildChangeNothing) {
  auto bad = PlantRoutes(config_);
  bad.routes[0].topic = "plant/#/infer";
  auto st = frontend_->UpdateRoutes(bad);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("mqtt.routes[0] (plant/#/infer)"), std::string::npos) << st.message();
  auto none = config_;
  none.default_route = false;
  EXPECT_FALSE(frontend_->UpdateRoutes(none).ok());  // no route at all
  frontend_->OnIdle();
  frontend_->OnMessage(Request("still"));
  EXPECT_EQ(service_.size(), 1u);
}

TEST_F(MqttFrontendTest, AMessageWaitingForASlotKeepsTheRoutesItWasReadUnder) {
  for (int i = 0; i < 3; ++i) frontend_->OnMessage(Request("r" + std::to_string(i)));  // 2 run, 1 waits
  ASSERT_TRUE(frontend_->UpdateRoutes(PlantRoutes(config_)).ok());
  frontend_->OnIdle();
  Complete(0);
  frontend_->OnIdle();  // the waiting one takes the free slot
  ASSERT_EQ(service_.size(), 3u);
  EXPECT_EQ(Complete(2), "m");
  EXPECT_FALSE(Rendered("reason=\"no_route\""));
}

// Telemetry routes through real device contracts (a repository over the fake
// backend): x [batch, 4] from a window of 4 readings of field v.
class MqttTelemetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("dev/config.yaml",
               "device: {idle_ttl_secs: 10, max_devices: 2, inputs: [{name: x, fields: [v]}], "
               "window: {count: 4}, result: {labels: [a, b, c, d]}}\n");
    dir_.Write("dev/1/model.onnx", "FP32 x y -1 4");
    auto repo = testing::MakeServedRepository(dir_.path(), &backend_);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
    contracts_ = std::make_unique<pipeline::DeviceContracts>(repo_.get(),
                                                             pipeline::ContractRunner::Options{&clock_, &metrics_});
    devices_ = std::make_unique<pipeline::DeviceService>(contracts_.get(), &service_);
    repo_->Poll();
    config::MqttConfig c;
    c.broker = "mqtt://127.0.0.1:1";  // never started: the listener is driven directly
    c.client_id = "unit";
    c.max_inflight = 1;
    auto f = MqttFrontend::Create(c, &service_, devices_.get(), &metrics_, &clock_);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    frontend_ = std::move(*f);
  }
  void TearDown() override { service_.CompleteAll(); }

  void Send(const std::string& device, const std::string& body, const std::string& model = "dev") {
    IncomingMessage m;
    m.topic = "infergate/devices/" + device + "/" + model;
    m.payload = std::make_shared<const std::string>(body);
    frontend_->OnMessage(std::move(m));
  }
  bool Rendered(const std::string& line) {
    return metrics_.RenderPrometheus().find(line) != std::string::npos;
  }
  size_t Devices() { return (*contracts_->Get("dev"))->device_count(); }

  ::infergate::testing::TempDir dir_;
  ::infergate::testing::FakeBackend backend_;
  core::MetricsRegistry metrics_;
  core::ManualClock clock_{core::TimePoint(std::chrono::seconds(100))};
  std::unique_ptr<core::ModelRepository> repo_;
  std::unique_ptr<pipeline::DeviceContracts> contracts_;
  HoldingService service_;
  std::unique_ptr<pipeline::DeviceService> devices_;
  std::unique_ptr<MqttFrontend> frontend_;
};

TEST_F(MqttTelemetryTest, AFillingWindowHoldsNoInFlightSlot) {
  // max_inflight is 1, yet two devices fill their windows side by side.
  for (int i = 0; i < 3; ++i) {
    Send("d1", R"({"v": 1})");
    Send("d2", R"({"v": 2})");
  }
  EXPECT_EQ(service_.size(), 0u);
  EXPECT_TRUE(Rendered("infergate_mqtt_inflight_requests 0"));
  Send("d1", R"({"v": 1})");
  ASSERT_EQ(service_.size(), 1u);
  auto r = service_.Take(0);
  EXPECT_EQ(r->model_name, "dev");
  EXPECT_EQ(r->inputs[0].tensor.shape(), (core::Shape{1, 4}));
  EXPECT_TRUE(Rendered("infergate_mqtt_inflight_requests 1"));
  // The slot is taken: d2's completing reading waits for it.
  Send("d2", R"({"v": 2})");
  EXPECT_EQ(service_.size(), 1u);
  r->on_complete(core::MakeErrorResponse(*r, core::Cancelled("done")));
  frontend_->OnIdle();
  EXPECT_EQ(service_.size(), 2u);
  // The failed inference is answered as an error and counted.
  EXPECT_TRUE(Rendered("infergate_mqtt_requests_rejected_total{reason=\"cancelled\"} 1"));
}

TEST_F(MqttTelemetryTest, BadTelemetryUnknownModelsAndTheDeviceLimitAreRefused) {
  Send("d1", R"({"v": "high"})");
  Send("d1", R"({"w": 1})");
  Send("d1", R"({"v": )");
  Send("d1", R"({"v": 1})", "nope");
  Send("d1", R"({"v": 1})");
  Send("d2", R"({"v": 1})");
  Send("d3", R"({"v": 1})");  // max_devices is 2
  EXPECT_EQ(service_.size(), 0u);
  EXPECT_TRUE(Rendered("infergate_mqtt_requests_rejected_total{reason=\"bad_telemetry\"} 2"));
  EXPECT_TRUE(Rendered("infergate_mqtt_requests_rejected_total{reason=\"malformed\"} 1"));
  EXPECT_TRUE(Rendered("infergate_mqtt_requests_rejected_total{reason=\"not_found\"} 1"));
  EXPECT_TRUE(Rendered("infergate_mqtt_requests_rejected_total{reason=\"device_limit\"} 1"));
  EXPECT_EQ(Devices(), 2u);
}

TEST_F(MqttTelemetryTest, IdleDevicesAreEvictedWithoutTraffic) {
  Send("d1", R"({"v": 1})");
  Send("d2", R"({"v": 1})");
  EXPECT_EQ(Devices(), 2u);
  clock_.Advance(std::chrono::seconds(5));
  frontend_->OnIdle();
  EXPECT_EQ(Devices(), 2u);
  clock_.Advance(std::chrono::seconds(6));  // 11 s idle, idle_ttl_secs is 10
  frontend_->OnIdle();
  EXPECT_EQ(Devices(), 0u);
  EXPECT_TRUE(Rendered("infergate_pipeline_devices_evicted_total{model=\"dev\"} 2"));
}

}  // namespace
}  // namespace infergate::mqtt

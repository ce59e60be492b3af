#include "frontends/mqtt/route.h"

#include <gtest/gtest.h>

#include "config/server_config.h"
#include "frontends/mqtt/codec.h"

namespace infergate::mqtt {
namespace {

config::MqttConfig ParseMqtt(const std::string& yaml) {
  auto c = config::ParseServerConfig(yaml, "infergate.yaml");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? c->mqtt : config::MqttConfig{};
}

TEST(RouteTest, ConfiguredRoutesComeBeforeTheDefaultRoute) {
  auto config = ParseMqtt(R"(
mqtt:
  broker: mqtt://127.0.0.1:1883
  topic_prefix: site1
  routes:
    - topic: plant/+device/vibration
      model: vibration_anomaly
      version: 2
      format: raw
      input: {name: accel, datatype: FP32, shape: [1, 4]}
      reply_topic: plant/{device}/anomaly
      qos: 2
      retain: true
)");
  auto routes = BuildRoutes(config);
  ASSERT_TRUE(routes.ok()) << routes.status().ToString();
  ASSERT_EQ(routes->size(), 3u);
  auto m = MatchRoute(*routes, "plant/p9/vibration");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->route->ModelFor(m->captures), "vibration_anomaly");
  EXPECT_EQ(m->route->reply_topic.Expand(m->captures), "plant/p9/anomaly");
  EXPECT_EQ(m->route->qos, 2);
  EXPECT_TRUE(m->route->retain);
  auto d = MatchRoute(*routes, "site1/models/mlp/infer");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->route->ModelFor(d->captures), "mlp");
  EXPECT_EQ(d->route->reply_topic.Expand({{"model", "mlp"}}), "site1/models/mlp/result");
  EXPECT_FALSE(MatchRoute(*routes, "site1/models/mlp/other").has_value());
  auto t = MatchRoute(*routes, "site1/devices/pump-7/predictive_maintenance");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->route->format, config::PayloadFormat::kTelemetry);
  EXPECT_EQ(t->route->ModelFor(t->captures), "predictive_maintenance");
  EXPECT_EQ(t->route->reply_topic.Expand({{"device", "pump-7"}, {"model", "pm"}}),
            "site1/devices/pump-7/pm/result");
  // Its results do not come back to it.
  EXPECT_FALSE(MatchRoute(*routes, "site1/devices/pump-7/pm/result").has_value());
}

TEST(RouteTest, TelemetryRoutesMayNameTheDeviceInTheirReplyTopic) {
  auto config = ParseMqtt(R"(
mqtt:
  default_route: false
  default_telemetry_route: false
  routes:
    - {topic: "plant/telemetry", model: pm, format: telemetry, reply_topic: "plant/{device}/state"}
)");
  auto routes = BuildRoutes(config);
  ASSERT_TRUE(routes.ok()) << routes.status().ToString();
  ASSERT_EQ(routes->size(), 1u);
  EXPECT_EQ((*routes)[0].format, config::PayloadFormat::kTelemetry);
  EXPECT_EQ((*routes)[0].reply_topic.Expand({{"device", "p1"}}), "plant/p1/state");
}

TEST(RouteTest, BadRoutesAreNamed) {
  auto config = ParseMqtt(R"(
mqtt:
  routes:
    - {topic: "a/+dev/x", model: m, reply_topic: "a/{device}/y"}
)");
  auto routes = BuildRoutes(config);
  ASSERT_FALSE(routes.ok());
  EXPECT_NE(routes.status().message().find("mqtt.routes[0] (a/+dev/x)"), std::string::npos)
      << routes.status().message();
  EXPECT_NE(routes.status().message().find("{device}"), std::string::npos);
}

TEST(RouteTest, OverloadAndReplyLimitKeysHaveDefaultsAndParse) {
  auto defaults = ParseMqtt("mqtt:\n  topic_prefix: site\n");
  EXPECT_EQ(defaults.overload_retry_after_ms, 1000);
  EXPECT_EQ(defaults.max_overload_replies_per_sec, 1000);
  EXPECT_EQ(defaults.max_reply_bytes, 0);
  EXPECT_EQ(defaults.ReplyTopicPrefix(), "site/");
  auto set = ParseMqtt(
      "mqtt:\n  overload_retry_after_ms: 250\n  max_overload_replies_per_sec: 10\n  max_reply_bytes: 2048\n"
      "  reply_topic_prefix: \"\"\n");
  EXPECT_EQ(set.overload_retry_after_ms, 250);
  EXPECT_EQ(set.max_overload_replies_per_sec, 10);
  EXPECT_EQ(set.max_reply_bytes, 2048);
  EXPECT_EQ(set.ReplyTopicPrefix(), "");
  auto wild = config::ValidateMqttConfig(ParseMqtt("mqtt:\n  reply_topic_prefix: \"a/+/\"\n"));
  ASSERT_FALSE(wild.ok());
  EXPECT_NE(wild.message().find("mqtt.reply_topic_prefix"), std::string::npos);
  auto zero = config::ParseServerConfig("mqtt:\n  max_overload_replies_per_sec: 0\n", "infergate.yaml");
  EXPECT_FALSE(zero.ok());
}

TEST(RouteTest, ConfigErrorsNameTheLineAndKey) {
  auto bad_key = config::ParseServerConfig("mqtt:\n  brokr: x\n", "infergate.yaml");
  ASSERT_FALSE(bad_key.ok());
  EXPECT_NE(bad_key.status().message().find("line 2: key 'brokr'"), std::string::npos);
  auto bad_format = config::ParseServerConfig(
      "mqtt:\n  routes:\n    - {topic: a, model: m, reply_topic: b, format: csv}\n", "infergate.yaml");
  ASSERT_FALSE(bad_format.ok());
  EXPECT_NE(bad_format.status().message().find("expected v2-json, raw or telemetry"), std::string::npos);
  auto no_input = config::ParseServerConfig(
      "mqtt:\n  routes:\n    - {topic: a, model: m, reply_topic: b, format: raw}\n", "infergate.yaml");
  ASSERT_FALSE(no_input.ok());
  config::MqttConfig c;
  c.protocol_version = "4";
  EXPECT_FALSE(config::ValidateMqttConfig(c).ok());
  c.protocol_version = "3.1.1";
  c.share_group = "a/b";
  EXPECT_FALSE(config::ValidateMqttConfig(c).ok());
}

TEST(CodecTest, RawPayloadBecomesOneTensorOfTheRoutesShape) {
  auto config = ParseMqtt(R"(
mqtt:
  default_route: false
  routes:
    - topic: d/+device/raw
      model: m
      format: raw
      input: {name: x, datatype: FP32, shape: [1, 2]}
      reply_topic: d/{device}/out
)");
  auto routes = BuildRoutes(config);
  ASSERT_TRUE(routes.ok());
  float values[2] = {1.5f, -2.0f};
  auto payload = std::make_shared<const std::string>(reinterpret_cast<const char*>(values), sizeof(values));
  RequestDecoder decoder;
  auto req = decoder.Decode(routes->front(), {{"device", "a"}}, payload);
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  EXPECT_EQ((*req)->model_name, "m");
  ASSERT_EQ((*req)->inputs.size(), 1u);
  EXPECT_EQ((*req)->inputs[0].tensor.shape(), (core::Shape{1, 2}));
  EXPECT_EQ((*req)->inputs[0].tensor.As<float>()[1], -2.0f);
  auto short_payload = std::make_shared<const std::string>("abc");
  auto bad = decoder.Decode(routes->front(), {}, short_payload);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("must be 8 bytes"), std::string::npos);
}

TEST(CodecTest, ErrorBodyIsJsonWithTheIdEchoed) {
  EXPECT_EQ(EncodeError(core::NotFound("unknown model \"x\"\n"), "r1"),
            R"({"error":"unknown model \"x\"\n","id":"r1"})");
  EXPECT_EQ(EncodeError(core::InvalidArgument("bad"), ""), R"({"error":"bad"})");
}

}  // namespace
}  // namespace infergate::mqtt

namespace infergate::mqtt {
namespace {

TEST(CheckReplyTopicTest, AcceptsTopicsUnderThePrefixOnly) {
  EXPECT_TRUE(CheckReplyTopic("infergate/replies/d42", "infergate/").ok());
  EXPECT_TRUE(CheckReplyTopic("dev/42/reply", "").ok());
  auto outside = CheckReplyTopic("dev/42/reply", "infergate/");
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(outside.message().find("must start with 'infergate/' (mqtt.reply_topic_prefix)"),
            std::string::npos);
}

TEST(CheckReplyTopicTest, RefusesWhatIsNoTopicName) {
  for (std::string topic : {std::string(""), std::string("infergate/+/x"), std::string("infergate/#"),
                            std::string("$SYS/x"), std::string("infergate/a\nb"), std::string("a\0b", 3),
                            "infergate/" + std::string(kMaxReplyTopicBytes, 'x')}) {
    EXPECT_FALSE(CheckReplyTopic(topic, "").ok()) << topic;
  }
}

}  // namespace
}  // namespace infergate::mqtt

// The `mqtt.outbox:` section of the server config.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/server_config.h"

namespace infergate::config {
namespace {

using ::testing::HasSubstr;

TEST(MqttOutboxConfigTest, DefaultsAndEveryKey) {
  auto defaults = ParseServerConfig("model_repository: /m\n", "infergate.yaml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults->mqtt.outbox.enabled);
  EXPECT_EQ(defaults->mqtt.outbox.path, "");
  EXPECT_EQ(defaults->mqtt.outbox.max_bytes, 268435456);
  EXPECT_EQ(defaults->mqtt.outbox.max_age_secs, 604800);
  auto c = ParseServerConfig(
      "model_repository: /m\n"
      "mqtt:\n  outbox: {enabled: false, path: /var/o.db, max_bytes: 1048576, max_age_secs: 0}\n",
      "infergate.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->mqtt.outbox.enabled);
  EXPECT_EQ(c->mqtt.outbox.path, "/var/o.db");
  EXPECT_EQ(c->mqtt.outbox.max_bytes, 1048576);
  EXPECT_EQ(c->mqtt.outbox.max_age_secs, 0);
}

TEST(MqttOutboxConfigTest, ErrorsNameTheKey) {
  for (const char* yaml : {"mqtt: {outbox: {max_bytes: 10}}\n",
                           "mqtt: {outbox: {max_age_secs: -1}}\n", "mqtt: {outbox: {size: 1}}\n"}) {
    auto c = ParseServerConfig(std::string("model_repository: /m\n") + yaml, "infergate.yaml");
    ASSERT_FALSE(c.ok()) << yaml;
    EXPECT_THAT(c.status().message(), HasSubstr("infergate.yaml")) << yaml;
  }
  auto c = ParseServerConfig("model_repository: /m\nmqtt: {outbox: {max_age_secs: -1}}\n",
                             "infergate.yaml");
  EXPECT_THAT(c.status().message(), HasSubstr("max_age_secs"));
}

}  // namespace
}  // namespace infergate::config

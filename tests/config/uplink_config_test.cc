#include "config/uplink_config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "config/server_config.h"

namespace infergate::config {
namespace {

constexpr const char* kUplink =
    "model_repository: m\nstate_dir: /var/lib/infergate\n"
    "uplink:\n  broker: mqtts://platform.example:8883\n  client_id: gw-17\n"
    "  topic_prefix: sites/plant-3/gw-17\n  forward: results\n  qos: 2\n  max_rate: 50\n"
    "  tls: {ca_file: ca.pem}\n  outbox: {path: up.db, max_bytes: 1048576, max_age_secs: 0}\n";

TEST(UplinkConfigTest, OffByDefault) {
  auto c = ParseServerConfig("model_repository: m\n", "t.yaml");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->uplink.enabled());
  EXPECT_EQ(c->uplink.forward, UplinkForward::kAlerts);
  EXPECT_EQ(c->uplink.qos, 1);
  EXPECT_EQ(c->uplink.outbox.max_bytes, 256ll << 20);
  EXPECT_TRUE(ValidateServerConfig(*c).ok()) << "no uplink, no state_dir needed";
}

TEST(UplinkConfigTest, EveryKeyIsRead) {
  auto c = ParseServerConfig(kUplink, "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const UplinkConfig& u = c->uplink;
  EXPECT_TRUE(u.enabled());
  EXPECT_EQ(u.client_id, "gw-17");
  EXPECT_EQ(u.topic_prefix, "sites/plant-3/gw-17");
  EXPECT_EQ(u.StatusTopic(), "sites/plant-3/gw-17/status");
  EXPECT_EQ(u.forward, UplinkForward::kResults);
  EXPECT_EQ(u.qos, 2);
  EXPECT_EQ(u.max_rate, 50);
  EXPECT_EQ(u.tls.ca_file, "ca.pem");
  EXPECT_EQ(u.outbox.path, "up.db");
  EXPECT_EQ(u.outbox.max_bytes, 1048576);
  EXPECT_EQ(u.outbox.max_age_secs, 0);
  EXPECT_TRUE(ValidateServerConfig(*c).ok());
}

// Errors name the file, the line and the key.
TEST(UplinkConfigTest, ErrorsNameTheKey) {
  auto typo = ParseServerConfig("uplink:\n  brokr: mqtt://b:1\n", "t.yaml");
  EXPECT_NE(typo.status().message().find("key 'brokr': unknown key in uplink"), std::string::npos)
      << typo.status().message();
  auto forward = ParseServerConfig("uplink:\n  forward: everything\n", "t.yaml");
  EXPECT_NE(forward.status().message().find(
                "t.yaml: line 2: key 'forward': expected alerts, results or none"),
            std::string::npos)
      << forward.status().message();
  auto qos = ParseServerConfig("uplink:\n  qos: 0\n", "t.yaml");
  EXPECT_NE(qos.status().message().find("key 'qos'"), std::string::npos) << qos.status().message();
  auto tls = ParseServerConfig("uplink:\n  tls: {ca: x}\n", "t.yaml");
  EXPECT_NE(tls.status().message().find("unknown key in uplink.tls"), std::string::npos)
      << tls.status().message();
  auto outbox = ParseServerConfig("uplink:\n  outbox: {max_bytes: 10}\n", "t.yaml");
  EXPECT_NE(outbox.status().message().find("key 'max_bytes'"), std::string::npos)
      << outbox.status().message();
}

TEST(UplinkConfigTest, ValidationNamesTheKey) {
  auto c = ParseServerConfig(kUplink, "t.yaml");
  ASSERT_TRUE(c.ok());
  auto invalid = [&](auto change) {
    ServerConfig copy = *c;
    change(copy);
    return ValidateServerConfig(copy).message();
  };
  EXPECT_NE(
      invalid([](ServerConfig& s) { s.uplink.topic_prefix = ""; }).find("uplink.topic_prefix"),
      std::string::npos);
  EXPECT_NE(
      invalid([](ServerConfig& s) { s.uplink.topic_prefix = "a/#"; }).find("uplink.topic_prefix"),
      std::string::npos);
  EXPECT_NE(invalid([](ServerConfig& s) { s.uplink.broker = "tcp://b:1"; }).find("uplink.broker"),
            std::string::npos);
  EXPECT_NE(invalid([](ServerConfig& s) {
              s.uplink.protocol_version = "4";
            }).find("uplink.protocol_version"),
            std::string::npos);
  // The uplink needs its outbox: a state_dir or a path.
  const std::string no_outbox = invalid([](ServerConfig& s) {
    s.state_dir.clear();
    s.uplink.outbox.path.clear();
  });
  EXPECT_NE(no_outbox.find("uplink needs its outbox"), std::string::npos) << no_outbox;
  EXPECT_EQ(invalid([](ServerConfig& s) { s.state_dir.clear(); }), "")
      << "the outbox path is enough";
}

TEST(UplinkConfigTest, ChangedKeysNamesTheUplink) {
  auto a = ParseServerConfig(kUplink, "t.yaml");
  ASSERT_TRUE(a.ok());
  ServerConfig b = *a;
  b.uplink.topic_prefix = "sites/plant-4/gw-17";
  EXPECT_EQ(ChangedKeys(*a, b), std::vector<std::string>{"uplink"});
}

// The example file's uplink block, uncommented, is a valid configuration
// with the defaults shown.
TEST(UplinkConfigTest, TheExampleBlockUncommentedIsValid) {
  std::ifstream in(std::string(INFERGATE_EXAMPLE_MODELS_DIR) + "/../infergate.yaml");
  std::string line, block = "model_repository: m\nstate_dir: s\n";
  bool inside = false;
  while (std::getline(in, line)) {
    if (line == "# uplink:") inside = true;
    if (!inside) continue;
    if (line.rfind("# ", 0) != 0) break;
    block += line.substr(2) + "\n";
  }
  auto c = ParseServerConfig(block, "example");
  ASSERT_TRUE(c.ok()) << c.status().ToString() << "\n" << block;
  ASSERT_TRUE(ValidateServerConfig(*c).ok()) << ValidateServerConfig(*c).message();
  UplinkConfig shown = c->uplink, defaults;
  shown.broker = shown.topic_prefix = "";
  EXPECT_EQ(shown, defaults) << "every other key shows its default";
}

}  // namespace
}  // namespace infergate::config

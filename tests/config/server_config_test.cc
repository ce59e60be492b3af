#include "config/server_config.h"
#include "config/mqtt_changes.h"

#include <gtest/gtest.h>

namespace infergate::config {
namespace {

TEST(ServerConfigTest, DeepNestingIsAnErrorNamingTheFile) {
  auto c = ParseServerConfig("mqtt:\n  routes: " + std::string(100000, '['), "server.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("server.yaml: line 2: nested deeper than the YAML parser allows"),
            std::string::npos)
      << c.status().message();
}

TEST(ServerConfigTest, HttpSectionDefaultsAndKeys) {
  auto defaults = ParseServerConfig("model_repository: m\n", "t.yaml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults->http.enabled);
  EXPECT_EQ(defaults->http.port, 8000);
  EXPECT_EQ(defaults->http.address, "127.0.0.1");

  auto c = ParseServerConfig(
      "model_repository: m\nhttp:\n  port: 0\n  io_threads: 2\n  max_body_bytes: 1024\n"
      "  max_header_bytes: 4096\n  max_elements_per_tensor: 10\n  idle_timeout_secs: 1.5\n"
      "  request_timeout_secs: 2\n  address: 127.0.0.1\n  enabled: false\n",
      "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->http.port, 0);
  EXPECT_EQ(c->http.io_threads, 2);
  EXPECT_EQ(c->http.max_body_bytes, 1024);
  EXPECT_EQ(c->http.max_elements_per_tensor, 10);
  EXPECT_EQ(c->http.idle_timeout_secs, 1.5);
  EXPECT_FALSE(c->http.enabled);
  EXPECT_TRUE(ValidateServerConfig(*c).ok());

  auto typo = ParseServerConfig("http:\n  prot: 1\n", "t.yaml");
  EXPECT_NE(typo.status().message().find("prot"), std::string::npos) << typo.status().message();
  auto range = ParseServerConfig("http:\n  port: 70000\n", "t.yaml");
  EXPECT_NE(range.status().message().find("key 'port'"), std::string::npos) << range.status().message();
  c->http.request_timeout_secs = 0;
  EXPECT_FALSE(ValidateServerConfig(*c).ok());
}

}  // namespace
}  // namespace infergate::config

namespace infergate::config {
namespace {

// The example file lists every key with its default.
TEST(ServerConfigTest, ExampleFileShowsTheHttpDefaults) {
  auto c = ParseServerConfigFile(std::string(INFERGATE_EXAMPLE_MODELS_DIR) + "/../infergate.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const HttpConfig defaults;
  EXPECT_EQ(c->http.enabled, defaults.enabled);
  EXPECT_EQ(c->http.address, defaults.address);
  EXPECT_EQ(c->http.port, defaults.port);
  EXPECT_EQ(c->http.io_threads, defaults.io_threads);
  EXPECT_EQ(c->http.max_body_bytes, defaults.max_body_bytes);
  EXPECT_EQ(c->http.max_header_bytes, defaults.max_header_bytes);
  EXPECT_EQ(c->http.max_elements_per_tensor, defaults.max_elements_per_tensor);
  EXPECT_EQ(c->http.idle_timeout_secs, defaults.idle_timeout_secs);
  EXPECT_EQ(c->http.request_timeout_secs, defaults.request_timeout_secs);
  const SharedMemoryConfig shm;
  EXPECT_EQ(c->shared_memory.enabled, shm.enabled);
  EXPECT_EQ(c->shared_memory.max_regions, shm.max_regions);
  EXPECT_EQ(c->shared_memory.key_prefix, shm.key_prefix);
  EXPECT_TRUE(c->auth.tokens_file.empty()) << "authentication is off by default";
}

TEST(ServerConfigTest, AuthSectionAndKeyPrefix) {
  auto c = ParseServerConfig("auth:\n  tokens_file: /etc/t.yaml\nshared_memory:\n  key_prefix: /plant_\n", "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->auth.tokens_file, "/etc/t.yaml");
  EXPECT_EQ(c->shared_memory.key_prefix, "/plant_");
  EXPECT_FALSE(ParseServerConfig("auth:\n  tokens: x\n", "t.yaml").ok());
  EXPECT_FALSE(ParseServerConfig("auth:\n  tokens_file: ''\n", "t.yaml").ok());
  for (const char* bad : {"x", "/", "/a/b"}) {
    auto k = ParseServerConfig(std::string("shared_memory:\n  key_prefix: ") + bad + "\n", "t.yaml");
    EXPECT_FALSE(k.ok()) << bad;
  }
}

TEST(ServerConfigTest, SharedMemorySection) {
  auto defaults = ParseServerConfig("model_repository: m\n", "t.yaml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_FALSE(defaults->shared_memory.enabled);
  auto c = ParseServerConfig("shared_memory:\n  enabled: true\n  max_regions: 3\n", "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->shared_memory.enabled);
  EXPECT_EQ(c->shared_memory.max_regions, 3);
  auto zero = ParseServerConfig("shared_memory:\n  max_regions: 0\n", "t.yaml");
  EXPECT_NE(zero.status().message().find("max_regions"), std::string::npos) << zero.status().message();
  auto typo = ParseServerConfig("shared_memory:\n  enable: true\n", "t.yaml");
  EXPECT_NE(typo.status().message().find("enable"), std::string::npos) << typo.status().message();
}

// A key given twice is refused, naming the file, the line and the key (the
// parser keeps both and a lookup would silently see only one of them).
TEST(ServerConfigTest, DuplicateKeysAreRefused) {
  auto top = ParseServerConfig("model_repository: a\nhttp:\n  port: 1\nmodel_repository: b\n",
                               "infergate.yaml");
  ASSERT_FALSE(top.ok());
  EXPECT_EQ(top.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(top.status().message().find("infergate.yaml: line 4: key 'model_repository'"),
            std::string::npos)
      << top.status().message();
  EXPECT_NE(top.status().message().find("first on line 1"), std::string::npos) << top.status().message();
  auto nested = ParseServerConfig("model_repository: a\nhttp: {port: 1, 'port': 2}\n", "s.yaml");
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.status().message().find("s.yaml: line 2: key 'port'"), std::string::npos)
      << nested.status().message();
  // The same key in different mappings, and aliases, are fine.
  auto ok = ParseServerConfig("model_repository: a\nhttp: {port: 1}\ngrpc: {port: 2}\n", "s.yaml");
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
}

TEST(ServerConfigTest, ChangedKeysNamesEveryTopLevelKeyThatDiffers) {
  auto a = ParseServerConfig("model_repository: m\nlog_level: info\nmqtt: {broker: 'mqtt://b:1'}\n", "a.yaml");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(ChangedKeys(*a, *a).empty());
  auto b = ParseServerConfig(
      "model_repository: m\nlog_level: debug\nmqtt: {broker: 'mqtt://b:1', routes: [{topic: t, model: x, reply_topic: r}]}\n"
      "http: {port: 9}\nstate_dir: s\n",
      "b.yaml");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(ChangedKeys(*a, *b), (std::vector<std::string>{"log_level", "state_dir", "mqtt.routes", "http"}));
}

// The mqtt section key by key: the route keys the frontend applies live are
// told apart from the ones that need a restart.
TEST(ServerConfigTest, ChangedKeysNamesEachMqttKeyThatDiffers) {
  const std::string base = "model_repository: m\nmqtt:\n  broker: 'mqtt://b:1'\n";
  auto a = ParseServerConfig(base, "a.yaml");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = ParseServerConfig(base +
                                 "  default_route: false\n  default_telemetry_route: false\n  default_qos: 2\n"
                                 "  share_group: g\n  tls: {insecure: true}\n  inbox: {max_records: 5}\n"
                                 "  routes: [{topic: t, model: x, reply_topic: r}]\n",
                             "b.yaml");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(ChangedKeys(*a, *b),
            (std::vector<std::string>{"mqtt.tls", "mqtt.share_group", "mqtt.default_route",
                                      "mqtt.default_telemetry_route", "mqtt.default_qos", "mqtt.routes",
                                      "mqtt.inbox"}));
  // A changed route field is a change of mqtt.routes, whichever field it is.
  auto c = *b;
  c.mqtt.routes[0].qos = 0;
  EXPECT_EQ(ChangedKeys(*b, c), (std::vector<std::string>{"mqtt.routes"}));
  c.mqtt.routes[0].qos = b->mqtt.routes[0].qos;
  c.mqtt.routes[0].input.shape = {1, 2};
  EXPECT_EQ(ChangedKeys(*b, c), (std::vector<std::string>{"mqtt.routes"}));
}

TEST(MqttChangesTest, RouteKeysAreTheOnesTheFrontendApplies) {
  for (const char* key : {"mqtt.routes", "mqtt.default_route", "mqtt.default_telemetry_route", "mqtt.default_qos"}) {
    EXPECT_TRUE(IsMqttRouteKey(key)) << key;
  }
  for (const char* key : {"mqtt", "mqtt.broker", "mqtt.topic_prefix", "mqtt.share_group", "routes", "log_level"}) {
    EXPECT_FALSE(IsMqttRouteKey(key)) << key;
  }
}

TEST(MqttChangesTest, WithRoutesOfTakesOnlyTheRouteKeys) {
  MqttConfig running;
  running.broker = "mqtt://old:1";
  running.topic_prefix = "old";
  MqttConfig fresh;
  fresh.broker = "mqtt://new:1";
  fresh.topic_prefix = "new";
  fresh.default_route = false;
  fresh.default_qos = 0;
  MqttRouteConfig route;
  route.topic = "a/+d";
  route.model = "m";
  route.reply_topic = "r/{d}";
  fresh.routes.push_back(route);
  const MqttConfig out = WithRoutesOf(running, fresh);
  EXPECT_EQ(out.broker, "mqtt://old:1");
  EXPECT_EQ(out.topic_prefix, "old");
  EXPECT_FALSE(out.default_route);
  EXPECT_EQ(out.default_qos, 0);
  EXPECT_EQ(out.routes, fresh.routes);
  EXPECT_TRUE(ChangedMqttKeys(out, fresh) == (std::vector<std::string>{"mqtt.broker", "mqtt.topic_prefix"}));
}

}  // namespace
}  // namespace infergate::config

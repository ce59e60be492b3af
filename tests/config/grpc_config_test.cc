// The `grpc:` section of the server config.
#include <gtest/gtest.h>

#include "config/server_config.h"

namespace infergate::config {
namespace {

TEST(GrpcConfigTest, DefaultsAndEveryKey) {
  auto defaults = ParseServerConfig("model_repository: /m\n", "infergate.yaml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults->grpc.enabled);
  EXPECT_EQ(defaults->grpc.address, "127.0.0.1");
  EXPECT_EQ(defaults->grpc.port, 8001);
  EXPECT_EQ(defaults->grpc.io_threads, 1);
  EXPECT_EQ(defaults->grpc.max_message_bytes, 64 * 1024 * 1024);

  auto c = ParseServerConfig(
      "model_repository: /m\n"
      "grpc:\n  enabled: false\n  address: 127.0.0.1\n  port: 0\n  io_threads: 2\n  max_message_bytes: 1048576\n"
      "  max_tensor_elements: 4096\n  max_stream_in_flight: 8\n  drain_secs: 1.5\n",
      "infergate.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->grpc.enabled);
  EXPECT_EQ(c->grpc.address, "127.0.0.1");
  EXPECT_EQ(c->grpc.port, 0);
  EXPECT_EQ(c->grpc.io_threads, 2);
  EXPECT_EQ(c->grpc.max_message_bytes, 1048576);
  EXPECT_EQ(c->grpc.max_tensor_elements, 4096);
  EXPECT_EQ(c->grpc.max_stream_in_flight, 8);
  EXPECT_EQ(c->grpc.drain_secs, 1.5);
  EXPECT_EQ(c->drain_secs, 1.5);  // grpc.drain_secs is the older spelling of drain_secs
  EXPECT_TRUE(ValidateServerConfig(*c).ok());
}

TEST(GrpcConfigTest, TopLevelDrainSecsWinsOverTheOlderSpelling) {
  auto defaults = ParseServerConfig("model_repository: /m\n", "infergate.yaml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->drain_secs, 5.0);
  auto c = ParseServerConfig("model_repository: /m\ndrain_secs: 0.5\ngrpc: {drain_secs: 3}\n", "infergate.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->drain_secs, 0.5);
  auto bad = ParseServerConfig("model_repository: /m\ndrain_secs: -2\n", "infergate.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("key 'drain_secs'"), std::string::npos) << bad.status().message();
}

TEST(GrpcConfigTest, ErrorsNameTheKey) {
  struct Case {
    const char* yaml;
    const char* expect;
  } cases[] = {
      {"grpc: {prot: 1}\n", "prot"},
      {"grpc: {port: 70000}\n", "key 'port'"},
      {"grpc: {port: -1}\n", "key 'port'"},
      {"grpc: {max_message_bytes: 10}\n", "key 'max_message_bytes'"},
      {"grpc: {max_stream_in_flight: 0}\n", "key 'max_stream_in_flight'"},
      {"grpc: {io_threads: 0}\n", "key 'io_threads'"},
      {"grpc: {drain_secs: -1}\n", "key 'drain_secs'"},
      {"grpc: {enabled: maybe}\n", "key 'enabled'"},
  };
  for (const auto& tc : cases) {
    auto r = ParseServerConfig(tc.yaml, "infergate.yaml");
    ASSERT_FALSE(r.ok()) << tc.yaml;
    EXPECT_NE(r.status().message().find(tc.expect), std::string::npos)
        << tc.yaml << " -> " << r.status().message();
  }
  ServerConfig flags;
  flags.model_repository = "/m";
  flags.grpc.address = "";
  EXPECT_FALSE(ValidateServerConfig(flags).ok());
}

// The keys bounding what one client can make the server hold.
TEST(GrpcConfigTest, ResourceLimits) {
  auto defaults = ParseServerConfig("model_repository: /m\n", "infergate.yaml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->grpc.max_connection_buffer_bytes, 128 << 20);
  EXPECT_EQ(defaults->grpc.max_buffered_bytes, int64_t{1} << 30);
  EXPECT_EQ(defaults->grpc.max_connection_unsent_bytes, 16 << 20);
  EXPECT_EQ(defaults->grpc.write_timeout_secs, 30);
  EXPECT_EQ(defaults->grpc.stall_timeout_secs, 30);
  EXPECT_TRUE(ValidateServerConfig(*defaults).ok());

  auto c = ParseServerConfig(
      "model_repository: /m\ngrpc:\n  max_message_bytes: 1048576\n  max_connection_buffer_bytes: 2097152\n"
      "  max_buffered_bytes: 0\n  max_connection_unsent_bytes: 65536\n  write_timeout_secs: 0\n"
      "  stall_timeout_secs: 2.5\n",
      "infergate.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->grpc.max_connection_buffer_bytes, 2097152);
  EXPECT_EQ(c->grpc.max_buffered_bytes, 0);
  EXPECT_EQ(c->grpc.max_connection_unsent_bytes, 65536);
  EXPECT_EQ(c->grpc.write_timeout_secs, 0);
  EXPECT_EQ(c->grpc.stall_timeout_secs, 2.5);
  EXPECT_TRUE(ValidateServerConfig(*c).ok());

  for (const char* yaml : {"grpc: {write_timeout_secs: -1}\n", "grpc: {stall_timeout_secs: -1}\n",
                           "grpc: {max_connection_buffer_bytes: 1000}\n", "grpc: {max_buffered_bytes: -1}\n",
                           "grpc: {max_connection_unsent_bytes: 1000}\n"}) {
    auto bad = ParseServerConfig(std::string("model_repository: /m\n") + yaml, "infergate.yaml");
    EXPECT_FALSE(bad.ok()) << yaml;
  }
  // A whole message must fit in a connection's bound, and that in the total.
  for (const char* yaml : {"grpc: {max_connection_buffer_bytes: 1048576}\n",
                           "grpc: {max_buffered_bytes: 1048576}\n"}) {
    auto parsed = ParseServerConfig(std::string("model_repository: /m\n") + yaml, "infergate.yaml");
    ASSERT_TRUE(parsed.ok()) << yaml;
    const core::Status st = ValidateServerConfig(*parsed);
    EXPECT_FALSE(st.ok()) << yaml;
    EXPECT_NE(st.message().find("max_connection_buffer_bytes"), std::string::npos) << st.message();
  }
}

}  // namespace
}  // namespace infergate::config

// The tls blocks: the top-level one for both frontends, http.tls / grpc.tls
// replacing it for one, the timing keys top-level only, and the pairing
// rules (cert with key, a client CA only with both).
#include <gtest/gtest.h>

#include "config/server_config.h"
#include "testing/temp_dir.h"

namespace infergate::config {
namespace {

TEST(TlsConfigTest, OffByDefault) {
  auto c = ParseServerConfig("model_repository: m\n", "t.yaml");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->tls.enabled());
  EXPECT_EQ(c->tls.handshake_timeout_secs, 10);
  EXPECT_EQ(c->tls.reload_check_secs, 2);
  EXPECT_FALSE(c->http.tls.has_value());
  EXPECT_TRUE(ValidateServerConfig(*c).ok());
}

TEST(TlsConfigTest, TopLevelBlockAndAPerFrontendOverride) {
  auto c = ParseServerConfig(
      "model_repository: m\n"
      "tls:\n  cert_file: s.crt\n  key_file: s.key\n  client_ca_file: ca.crt\n"
      "  handshake_timeout_secs: 3\n  reload_check_secs: 0\n"
      "grpc:\n  tls:\n    cert_file: g.crt\n    key_file: g.key\n",
      "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(ValidateServerConfig(*c).ok());
  const TlsConfig http = TlsFor(c->tls, c->http.tls);
  EXPECT_EQ(http.cert_file, "s.crt");
  EXPECT_EQ(http.client_ca_file, "ca.crt");
  const TlsConfig grpc = TlsFor(c->tls, c->grpc.tls);
  EXPECT_EQ(grpc.cert_file, "g.crt");
  EXPECT_EQ(grpc.client_ca_file, "");         // the block replaces the top-level one
  EXPECT_EQ(grpc.handshake_timeout_secs, 3);  // timing always from the top level
  EXPECT_EQ(grpc.reload_check_secs, 0);
}

TEST(TlsConfigTest, TimingKeysAreTopLevelOnly) {
  auto c = ParseServerConfig("http:\n  tls:\n    handshake_timeout_secs: 1\n", "t.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("handshake_timeout_secs"), std::string::npos)
      << c.status().message();
  EXPECT_FALSE(ParseServerConfig("tls:\n  handshake_timeout_secs: 0\n", "t.yaml").ok());
  EXPECT_FALSE(ParseServerConfig("tls:\n  reload_check_secs: -1\n", "t.yaml").ok());
}

TEST(TlsConfigTest, CertificateAndKeyGoTogether) {
  auto c = ParseServerConfig("model_repository: m\ntls:\n  cert_file: s.crt\n", "t.yaml");
  ASSERT_TRUE(c.ok());
  auto st = ValidateServerConfig(*c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("tls: cert_file is set but key_file is not"), std::string::npos)
      << st.message();

  auto key_only =
      ParseServerConfig("model_repository: m\nhttp:\n  tls:\n    key_file: s.key\n", "t.yaml");
  ASSERT_TRUE(key_only.ok());
  st = ValidateServerConfig(*key_only);
  EXPECT_NE(st.message().find("http.tls: key_file is set but cert_file is not"), std::string::npos)
      << st.message();

  auto ca_only =
      ParseServerConfig("model_repository: m\ntls:\n  client_ca_file: ca.crt\n", "t.yaml");
  ASSERT_TRUE(ca_only.ok());
  EXPECT_FALSE(ValidateServerConfig(*ca_only).ok());
}

TEST(TlsConfigTest, RelativeFilesAreRelativeToTheConfigFile) {
  testing::TempDir dir;
  const auto file = dir.Write("etc/infergate.yaml",
                              "tls:\n  cert_file: tls/s.crt\n  key_file: /abs/s.key\n"
                              "http:\n  tls:\n    cert_file: h.crt\n    key_file: h.key\n");
  auto c = ParseServerConfigFile(file);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->tls.cert_file, (dir.path() / "etc/tls/s.crt").string());
  EXPECT_EQ(c->tls.key_file, "/abs/s.key");
  EXPECT_EQ(c->http.tls->cert_file, (dir.path() / "etc/h.crt").string());
}

}  // namespace
}  // namespace infergate::config

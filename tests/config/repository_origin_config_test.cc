#include "config/repository_origin_config.h"

#include <gtest/gtest.h>

#include "config/server_config.h"

namespace infergate::config {
namespace {

TEST(RepositoryOriginConfigTest, OffByDefault) {
  auto c = ParseServerConfig("model_repository: m\n", "t.yaml");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->repository_origin.enabled());
  EXPECT_EQ(c->repository_origin.poll_secs, 60);
}

TEST(RepositoryOriginConfigTest, EveryKey) {
  auto c = ParseServerConfig(
      "model_repository: m\nrepository_origin:\n  url: https://models.example/fleet/\n  poll_secs: 5\n"
      "  timeout_secs: 2\n  token_file: token.txt\n  tls: {ca_file: ca.pem}\n  staging_dir: stage\n  prune: true\n",
      "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const RepositoryOriginConfig& o = c->repository_origin;
  EXPECT_EQ(o.url, "https://models.example/fleet/");
  EXPECT_EQ(o.poll_secs, 5);
  EXPECT_EQ(o.timeout_secs, 2);
  EXPECT_EQ(o.token_file, "token.txt");
  EXPECT_EQ(o.ca_file, "ca.pem");
  EXPECT_EQ(o.staging_dir, "stage");
  EXPECT_TRUE(o.prune);
  EXPECT_TRUE(ValidateServerConfig(*c).ok());
  RepositoryOriginConfig resolved = o;
  ResolveRepositoryOriginPaths("/etc/infergate", &resolved);
  EXPECT_EQ(resolved.token_file, "/etc/infergate/token.txt");
  EXPECT_EQ(resolved.ca_file, "/etc/infergate/ca.pem");
}

TEST(RepositoryOriginConfigTest, ErrorsNameTheKey) {
  struct Case {
    const char* yaml;
    const char* key;
  };
  for (const Case& c : {Case{"  url: ftp://x/\n", "url"}, Case{"  url: http://x/\n  poll_secs: 0\n", "poll_secs"},
                        Case{"  url: http://x/\n  timeout_secs: -1\n", "timeout_secs"},
                        Case{"  url: http://x/\n  tls: {cert_file: a}\n", "cert_file"},
                        Case{"  url: http://x/\n  token: a\n  token_file: b\n", "token_file"},
                        Case{"  urll: http://x/\n", "urll"}}) {
    auto parsed = ParseServerConfig(std::string("repository_origin:\n") + c.yaml, "t.yaml");
    ASSERT_FALSE(parsed.ok()) << c.yaml;
    EXPECT_NE(parsed.status().message().find(c.key), std::string::npos) << parsed.status().message();
    EXPECT_NE(parsed.status().message().find("t.yaml"), std::string::npos) << parsed.status().message();
  }
}

TEST(RepositoryOriginConfigTest, AChangeIsNamed) {
  ServerConfig a, b;
  b.repository_origin.url = "http://x/";
  EXPECT_EQ(ChangedKeys(a, b), std::vector<std::string>{"repository_origin"});
}

}  // namespace
}  // namespace infergate::config

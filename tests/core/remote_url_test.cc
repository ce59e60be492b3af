#include "core/remote_url.h"

#include <gtest/gtest.h>

namespace infergate::core {
namespace {

TEST(RemoteUrlTest, ParsesEachScheme) {
  auto g = ParseRemoteUrl("grpc://cloud.example:8001");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->protocol, RemoteUrl::Protocol::kGrpc);
  EXPECT_FALSE(g->tls);
  EXPECT_EQ(g->Authority(), "cloud.example:8001");
  auto h = ParseRemoteUrl("https://cloud.example/serving/");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->protocol, RemoteUrl::Protocol::kHttp);
  EXPECT_TRUE(h->tls);
  EXPECT_EQ(h->port, 443);
  EXPECT_EQ(h->prefix, "/serving");
  auto v6 = ParseRemoteUrl("http://[::1]:8000");
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->Authority(), "[::1]:8000");
  EXPECT_TRUE(ParseRemoteUrl("grpcs://h:1")->tls);
}

TEST(RemoteUrlTest, RefusesWhatItCannotUse) {
  for (const char* bad : {"ftp://h:1", "grpc://h", "grpc://h:1/x", "http://:80", "http://h:0", "http://h:99999",
                          "http://u@h:80", "http://::1:80", "http://h:80/?q", "cloud:8001"}) {
    auto r = ParseRemoteUrl(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace infergate::core

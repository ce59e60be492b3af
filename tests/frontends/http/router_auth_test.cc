// The Router's access check with authentication on: Authorize is the one
// decision (the session asks it once a request's header is complete), and a
// request carrying the grant it gave is not checked, nor counted, again.
#include <gtest/gtest.h>

#include "auth/token.h"
#include "config/tokens_yaml.h"
#include "frontends/http/router.h"
#include "testing/temp_dir.h"

namespace infergate::http {
namespace {

class RouterAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto file = dir_.Write("tokens.yaml", "- name: rd\n  sha256: " +
                                                    auth::HexDigest(auth::Sha256("tok-read")) +
                                                    "\n  scopes: [read]\n");
    auto policy = auth::Policy::Create({file, &config::ParseTokensFile}, &metrics_);
    ASSERT_TRUE(policy.ok()) << policy.status().ToString();
    policy_ = std::move(*policy);
    RouteContext ctx;
    ctx.metrics = &metrics_;
    ctx.http_metrics = &http_metrics_;
    ctx.policy = policy_.get();
    router_ = std::make_unique<Router>(ctx);
  }

  // GET /metrics (scope read), answered inline.
  HttpResponse Get(std::optional<auth::Grant> grant) {
    HttpRequest request;
    request.target = "/metrics";
    request.grant = std::move(grant);
    HttpResponse got;
    router_->Handle(request, [&](HttpResponse r) { got = std::move(r); });
    return got;
  }
  double Missing() {
    return metrics_.GetCounter("infergate_auth_failures_total", "", {{"frontend", "http"}, {"reason", "missing"}})
        .value();
  }

  testing::TempDir dir_;
  core::MetricsRegistry metrics_;
  HttpMetrics http_metrics_{&metrics_};
  std::unique_ptr<auth::Policy> policy_;
  std::unique_ptr<Router> router_;
};

TEST_F(RouterAuthTest, AuthorizeDecidesAsHandleWouldAndCountsOnce) {
  const auth::Decision refused = router_->Authorize("/metrics", std::nullopt, false);
  EXPECT_EQ(refused.status.code(), core::StatusCode::kUnauthenticated);
  const HttpResponse reply = AuthRefusal(refused);
  EXPECT_EQ(reply.status, 401);
  ASSERT_EQ(reply.headers.size(), 1u);
  EXPECT_EQ(reply.headers[0].first, "WWW-Authenticate");
  EXPECT_EQ(Missing(), 1);
  EXPECT_TRUE(router_->Authorize("/metrics", "Bearer tok-read", false).ok());
  EXPECT_TRUE(router_->Authorize("/v2/health/live", std::nullopt, false).ok());  // open
  EXPECT_EQ(Missing(), 1);

  EXPECT_EQ(Get(std::nullopt).status, 401);  // no grant: Handle asks the policy
  EXPECT_EQ(Missing(), 2);
  EXPECT_EQ(Get(auth::Grant{}).status, 200);  // granted at the header: not asked again
  EXPECT_EQ(Missing(), 2);
}

}  // namespace
}  // namespace infergate::http

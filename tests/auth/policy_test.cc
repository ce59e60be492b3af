#include "auth/policy.h"

#include <gtest/gtest.h>

#include "config/tokens_yaml.h"
#include "testing/temp_dir.h"

namespace infergate::auth {
namespace {

using core::StatusCode;

std::string EntryYaml(const std::string& name, const std::string& token, const std::string& scopes,
                      const std::string& models = "") {
  std::string y = "- name: " + name + "\n  sha256: " + HexDigest(Sha256(token)) + "\n  scopes: [" +
                  scopes + "]\n";
  if (!models.empty()) y += "  models: [" + models + "]\n";
  return y;
}

const std::string kTokens =
    EntryYaml("inf", "tok-infer", "infer") + EntryYaml("rd", "tok-read", "read") +
    EntryYaml("adm", "tok-admin", "admin") + EntryYaml("all", "tok-all", "infer, read, admin") +
    EntryYaml("vib", "tok-vib", "infer, read, admin", "\"vib*\"");

class PolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = dir_.Write("tokens.yaml", kTokens);
    auto p = Policy::Create({file_, &config::ParseTokensFile}, &metrics_);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    policy_ = std::move(*p);
  }

  Decision Check(std::optional<std::string> header, Access access, std::string_view model = {},
                 bool local = true) {
    header_ = std::move(header);
    std::optional<std::string_view> h;
    if (header_) h = *header_;
    return policy_->Check({"http", h, local, access, model});
  }
  Decision CheckToken(const std::string& token, Access access, std::string_view model = {},
                      bool local = true) {
    return Check("Bearer " + token, access, model, local);
  }
  uint64_t Failures(const std::string& frontend, const std::string& reason) const {
    const core::Counter* c = metrics_.FindCounter("infergate_auth_failures_total",
                                                  {{"frontend", frontend}, {"reason", reason}});
    return c ? c->value() : 0;
  }
  uint64_t Reloads(const std::string& result) const {
    const core::Counter* c =
        metrics_.FindCounter("infergate_auth_reloads_total", {{"result", result}});
    return c ? c->value() : 0;
  }

  testing::TempDir dir_;
  std::filesystem::path file_;
  core::MetricsRegistry metrics_;
  std::unique_ptr<Policy> policy_;
  std::optional<std::string> header_;
};

// Every scope against every endpoint class: a token may do exactly what its
// scopes say (admin implies neither read nor infer).
TEST_F(PolicyTest, EveryScopeAgainstEveryEndpointClass) {
  struct Row {
    const char* token;
    bool infer, read, admin;
  } rows[] = {
      {"tok-infer", true, false, false},
      {"tok-read", false, true, false},
      {"tok-admin", false, false, true},
      {"tok-all", true, true, true},
  };
  for (const auto& row : rows) {
    const std::pair<Access, bool> cases[] = {{Access::kOpen, true},
                                             {Access::kInfer, row.infer},
                                             {Access::kRead, row.read},
                                             {Access::kAdmin, row.admin},
                                             {Access::kLocalAdmin, row.admin}};
    for (const auto& [access, allowed] : cases) {
      const Decision d = CheckToken(row.token, access, "m");
      EXPECT_EQ(d.ok(), allowed) << row.token << " access " << static_cast<int>(access) << ": "
                                 << d.status.message();
      if (!allowed) {
        EXPECT_EQ(d.status.code(), StatusCode::kPermissionDenied);
        EXPECT_EQ(d.failure, Failure::kScope);
        EXPECT_NE(d.status.message().find("lacks scope"), std::string::npos) << d.status.message();
        EXPECT_EQ(d.status.message().find(row.token), std::string::npos)
            << "the token itself is never echoed";
      }
    }
  }
  const Decision d = CheckToken("tok-infer", Access::kAdmin);
  EXPECT_EQ(d.status.message(), "token 'inf' lacks scope 'admin'");
}

TEST_F(PolicyTest, MissingAndInvalidTokensAreUnauthenticatedWithTheirChallenge) {
  const Decision missing = Check(std::nullopt, Access::kRead);
  EXPECT_EQ(missing.status.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(missing.failure, Failure::kMissing);
  EXPECT_EQ(missing.Challenge(), "Bearer realm=\"infergate\"");
  const Decision wrong = CheckToken("tok-nope", Access::kRead);
  EXPECT_EQ(wrong.status.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(wrong.failure, Failure::kInvalid);
  EXPECT_EQ(wrong.Challenge(), "Bearer realm=\"infergate\", error=\"invalid_token\"");
  EXPECT_TRUE(Check(std::nullopt, Access::kOpen).ok()) << "health probes need no token";
  EXPECT_EQ(Failures("http", "missing"), 1u);
  EXPECT_EQ(Failures("http", "invalid"), 1u);
}

TEST_F(PolicyTest, MalformedOrOverlongHeadersAreInvalidNotCrashes) {
  const std::string headers[] = {"",
                                 "Bearer",
                                 "Bearer ",
                                 "Basic tok-all",
                                 "tok-all",
                                 "Bearer tok-all extra",
                                 "Bearer tok\x01"
                                 "all",
                                 "Bearer " + std::string(100000, 'a'),
                                 "Bearer =====",
                                 std::string("Bearer tok-all\0", 15)};
  for (const auto& h : headers) {
    const Decision d = Check(h, Access::kRead);
    EXPECT_EQ(d.failure, Failure::kInvalid) << h.substr(0, 40);
    EXPECT_EQ(d.status.code(), StatusCode::kUnauthenticated);
  }
  // The scheme is case-insensitive, surrounding blanks are allowed.
  EXPECT_TRUE(Check("bearer tok-all", Access::kRead).ok());
  EXPECT_TRUE(Check("  BEARER   tok-all  ", Access::kRead).ok());
}

TEST_F(PolicyTest, ModelGlobsRestrictModelRequests) {
  EXPECT_TRUE(CheckToken("tok-vib", Access::kInfer, "vibration_a").ok());
  EXPECT_TRUE(CheckToken("tok-vib", Access::kAdmin, "vib").ok());
  const Decision d = CheckToken("tok-vib", Access::kInfer, "pump_1");
  EXPECT_EQ(d.status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(d.failure, Failure::kModel);
  EXPECT_EQ(d.status.message(), "token 'vib' may not use model 'pump_1'");
  EXPECT_EQ(Failures("http", "model"), 1u);
  // No model named (a list): admitted; the grant filters.
  const Decision list = CheckToken("tok-vib", Access::kRead);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list.grant.AllowsModel("vib_2"));
  EXPECT_FALSE(list.grant.AllowsModel("pump"));
  EXPECT_FALSE(policy_->CheckModel(list.grant, "grpc", "pump").ok());
  EXPECT_EQ(Failures("grpc", "model"), 1u);
  EXPECT_TRUE(CheckToken("tok-all", Access::kInfer, "pump_1").ok()) << "no globs: every model";
}

TEST_F(PolicyTest, SharedMemoryRegistrationIsLoopbackOnlyEvenForAdmin) {
  EXPECT_TRUE(CheckToken("tok-admin", Access::kLocalAdmin, {}, true).ok());
  const Decision remote = CheckToken("tok-admin", Access::kLocalAdmin, {}, false);
  EXPECT_EQ(remote.status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(remote.failure, Failure::kRemote);
  EXPECT_NE(remote.status.message().find("loopback"), std::string::npos);
  EXPECT_TRUE(CheckToken("tok-admin", Access::kAdmin, {}, false).ok())
      << "repository control: admin suffices";
}

TEST(PolicyOffTest, EveryoneInfersAndReadsAdminOnlyFromLoopback) {
  core::MetricsRegistry metrics;
  auto policy = Policy::Create({}, &metrics);
  ASSERT_TRUE(policy.ok());
  EXPECT_FALSE((*policy)->enabled());
  for (Access a : {Access::kOpen, Access::kInfer, Access::kRead}) {
    EXPECT_TRUE((*policy)->Check({"grpc", std::nullopt, false, a, "m"}).ok());
  }
  for (Access a : {Access::kAdmin, Access::kLocalAdmin}) {
    EXPECT_TRUE((*policy)->Check({"grpc", std::nullopt, true, a, "m"}).ok());
    const Decision d = (*policy)->Check({"grpc", std::nullopt, false, a, "m"});
    EXPECT_EQ(d.status.code(), StatusCode::kPermissionDenied);
    EXPECT_NE(d.status.message().find("loopback only while authentication is off"),
              std::string::npos);
  }
  EXPECT_EQ(metrics
                .FindCounter("infergate_auth_failures_total",
                             {{"frontend", "grpc"}, {"reason", "remote"}})
                ->value(),
            2u);
}

TEST_F(PolicyTest, ABadNewFileKeepsTheTokensInUse) {
  dir_.Write("tokens.yaml", kTokens + "- name: broken\n  sha256: 1234\n  scopes: [infer]\n");
  const core::Status st = policy_->Reload();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("line 18: key 'sha256': token 'broken'"), std::string::npos)
      << st.message();
  EXPECT_TRUE(CheckToken("tok-all", Access::kRead).ok()) << "the old set still serves";
  EXPECT_EQ(Reloads("error"), 1u);
  dir_.Write("tokens.yaml", "- name: [\n");  // not YAML at all
  EXPECT_FALSE(policy_->Reload().ok());
  EXPECT_TRUE(CheckToken("tok-all", Access::kRead).ok());
  std::filesystem::remove(file_);  // gone
  EXPECT_FALSE(policy_->Reload().ok());
  EXPECT_TRUE(CheckToken("tok-all", Access::kRead).ok());
  EXPECT_EQ(Reloads("error"), 3u);
}

TEST_F(PolicyTest, AGoodNewFileRevokesAndAddsTokens) {
  const Decision before = CheckToken("tok-all", Access::kRead);
  ASSERT_TRUE(before.ok());
  dir_.Write("tokens.yaml", EntryYaml("new", "tok-new", "read"));
  ASSERT_TRUE(policy_->Reload().ok());
  EXPECT_EQ(CheckToken("tok-all", Access::kRead).failure, Failure::kInvalid) << "revoked";
  EXPECT_TRUE(CheckToken("tok-new", Access::kRead).ok());
  EXPECT_EQ(before.grant.token_name(), "all") << "a grant keeps its entry alive across a reload";
  EXPECT_EQ(Reloads("ok"), 1u);
}

TEST_F(PolicyTest, ReloadIfChangedReadsOnlyAChangedFile) {
  policy_->ReloadIfChanged();
  EXPECT_EQ(Reloads("ok") + Reloads("error"), 0u) << "unchanged: not read";
  dir_.Write("tokens.yaml", EntryYaml("new", "tok-new", "read") + "# a longer file\n");
  policy_->ReloadIfChanged();
  EXPECT_EQ(Reloads("ok"), 1u);
  EXPECT_TRUE(CheckToken("tok-new", Access::kRead).ok());
  policy_->ReloadIfChanged();
  EXPECT_EQ(Reloads("ok"), 1u);
}

TEST(PolicyCreateTest, ABadFileAtStartUpIsAnError) {
  testing::TempDir dir;
  const auto file = dir.Write("tokens.yaml", "- name: a\n  sha256: zz\n  scopes: [infer]\n");
  auto policy = Policy::Create({file, &config::ParseTokensFile}, nullptr);
  ASSERT_FALSE(policy.ok());
  EXPECT_NE(policy.status().message().find("tokens.yaml: line 2"), std::string::npos)
      << policy.status().message();
  EXPECT_FALSE(
      Policy::Create({dir.path() / "missing.yaml", &config::ParseTokensFile}, nullptr).ok());
}

}  // namespace
}  // namespace infergate::auth

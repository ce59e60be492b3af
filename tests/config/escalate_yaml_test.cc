#include <gtest/gtest.h>

#include "config/model_config_yaml.h"

namespace infergate::config {
namespace {

using core::EscalationConfig;
using core::StatusCode;

TEST(EscalateYamlTest, ParsesEveryKey) {
  auto c = ParseModelConfig(R"(
escalate:
  to: big
  when: {score_below: 0.8}
  timeout_ms: 250
  breaker: {failures: 5, open_secs: 2.5}
)", "m/config.yaml", "m");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->escalate.has_value());
  EXPECT_EQ(c->escalate->to, "big");
  EXPECT_EQ(c->escalate->when, EscalationConfig::When::kScoreBelow);
  EXPECT_DOUBLE_EQ(c->escalate->score_below, 0.8);
  EXPECT_EQ(c->escalate->timeout_ms, 250);
  EXPECT_EQ(c->escalate->breaker_failures, 5);
  EXPECT_DOUBLE_EQ(c->escalate->breaker_open_secs, 2.5);
}

TEST(EscalateYamlTest, DefaultsAndOtherRules) {
  auto a = ParseModelConfig("escalate: {to: big, when: {always: true}}", "c", "m");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->escalate->when, EscalationConfig::When::kAlways);
  EXPECT_EQ(a->escalate->timeout_ms, 300);
  EXPECT_EQ(a->escalate->breaker_failures, 3);
  EXPECT_DOUBLE_EQ(a->escalate->breaker_open_secs, 10);
  auto l = ParseModelConfig("escalate: {to: big, when: {label_in: [unknown, other]}}", "c", "m");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->escalate->when, EscalationConfig::When::kLabelIn);
  EXPECT_EQ(l->escalate->label_in, (std::vector<std::string>{"unknown", "other"}));
}

TEST(EscalateYamlTest, ErrorsNameTheKey) {
  struct Case {
    const char* yaml;
    const char* key;
  };
  for (const Case& c : {Case{"escalate: {when: {always: true}}", "escalate.to"},
                        Case{"escalate: {to: m, when: {always: true}}", "escalate.to"},
                        Case{"escalate: {to: big}", "escalate.when"},
                        Case{"escalate: {to: big, when: {always: true, score_below: 1}}", "escalate.when"},
                        Case{"escalate: {to: big, when: {always: false}}", "escalate.when.always"},
                        Case{"escalate: {to: big, when: {label_in: []}}", "escalate.when.label_in"},
                        Case{"escalate: {to: big, when: {always: true}, timeout_ms: 0}", "escalate.timeout_ms"},
                        Case{"escalate: {to: big, when: {always: true}, breaker: {failures: 0}}",
                             "escalate.breaker.failures"},
                        Case{"escalate: {to: big, when: {always: true}, retries: 2}", "retries"}}) {
    auto r = ParseModelConfig(c.yaml, "c", "m");
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.key), std::string::npos) << r.status().message();
  }
}

core::TensorSpec Spec(const char* name, core::DataType type, int64_t n) {
  return {name, type, {-1, n}, {"", ""}, ""};
}

TEST(EscalateYamlTest, RuleMustBeEvaluable) {
  core::ModelSignature sig;
  sig.inputs = {Spec("x", core::DataType::kFp32, 1)};
  sig.outputs = {Spec("label", core::DataType::kBytes, 1)};
  auto c = ParseModelConfig("escalate: {to: big, when: {score_below: 0.5}}", "c", "m");
  ASSERT_TRUE(c.ok());
  core::Status s = core::CompleteConfig(sig, &*c);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("BYTES"), std::string::npos) << s.message();
  auto l = ParseModelConfig("escalate: {to: big, when: {label_in: [x]}}", "c", "m");
  ASSERT_TRUE(l.ok());
  sig.outputs = {Spec("y", core::DataType::kFp32, 3)};
  s = core::CompleteConfig(sig, &*l);
  EXPECT_NE(s.message().find("device contract"), std::string::npos) << s.message();
  auto a = ParseModelConfig("escalate: {to: big, when: {always: true}}", "c", "m");
  EXPECT_TRUE(core::CompleteConfig(sig, &*a).ok());
}

}  // namespace
}  // namespace infergate::config

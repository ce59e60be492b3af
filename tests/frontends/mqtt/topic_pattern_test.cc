#include "frontends/mqtt/topic_pattern.h"

#include <gtest/gtest.h>

#include "frontends/mqtt/backoff.h"
#include "frontends/mqtt/broker_url.h"

namespace infergate::mqtt {
namespace {

TEST(TopicPatternTest, CapturesNamedLevels) {
  auto p = TopicPattern::Parse("plant/+device/vibration");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->filter(), "plant/+/vibration");
  auto m = p->Match("plant/pump-7/vibration");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(*m, (Captures{{"device", "pump-7"}}));
  EXPECT_FALSE(p->Match("plant/pump-7/temperature").has_value());
  EXPECT_FALSE(p->Match("plant/pump-7/vibration/x").has_value());
  EXPECT_FALSE(p->Match("plant/vibration").has_value());
}

TEST(TopicPatternTest, HashCapturesTheRestAndUnnamedWildcards) {
  auto p = TopicPattern::Parse("site/+/#rest");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->filter(), "site/+/#");
  EXPECT_EQ(*p->Match("site/a/b/c"), (Captures{{"rest", "b/c"}}));
  EXPECT_EQ(*p->Match("site/a"), (Captures{{"rest", ""}}));
  auto dollar = TopicPattern::Parse("+/x");
  ASSERT_TRUE(dollar.ok());
  EXPECT_FALSE(dollar->Match("$SYS/x").has_value());
}

TEST(TopicPatternTest, RefusesBadFilters) {
  EXPECT_FALSE(TopicPattern::Parse("a/#/b").ok());
  EXPECT_FALSE(TopicPattern::Parse("a/b+c").ok());
  EXPECT_FALSE(TopicPattern::Parse("a/+x/+x").ok());
  EXPECT_FALSE(TopicPattern::Parse("").ok());
}

TEST(TopicTemplateTest, ExpandsKnownNamesAndRefusesOthers) {
  auto t = TopicTemplate::Parse("plant/{device}/anomaly/{model}", {"device", "model"});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->Expand({{"device", "p1"}, {"model", "m"}}), "plant/p1/anomaly/m");
  auto bad = TopicTemplate::Parse("plant/{sensor}", {"device", "model"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown name {sensor}"), std::string::npos);
  EXPECT_FALSE(TopicTemplate::Parse("a/{device", {"device"}).ok());
  EXPECT_FALSE(TopicTemplate::Parse("a/+/b", {}).ok());
}

TEST(BrokerUrlTest, ParsesSchemesHostsAndPorts) {
  auto a = ParseBrokerUrl("mqtt://127.0.0.1:1884");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 1884);
  EXPECT_FALSE(a->tls);
  auto b = ParseBrokerUrl("mqtts://broker.example");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->tls);
  EXPECT_EQ(b->port, 8883);
  auto c = ParseBrokerUrl("mqtt://[::1]:1883");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->ToString(), "mqtt://[::1]:1883");
  EXPECT_FALSE(ParseBrokerUrl("http://x:1").ok());
  EXPECT_FALSE(ParseBrokerUrl("mqtt://x:0").ok());
  EXPECT_FALSE(ParseBrokerUrl("mqtt://:1883").ok());
  EXPECT_FALSE(ParseBrokerUrl("mqtt://x:99999").ok());
}

TEST(BackoffTest, DoublesUpToTheCapAndResetsOnSuccess) {
  using std::chrono::milliseconds;
  core::ManualClock clock;
  Backoff b(&clock, milliseconds(500), milliseconds(3000));
  EXPECT_TRUE(b.Due());
  EXPECT_EQ(b.Failed(), milliseconds(500));
  EXPECT_FALSE(b.Due());
  clock.Advance(milliseconds(499));
  EXPECT_FALSE(b.Due());
  EXPECT_EQ(b.Remaining(), milliseconds(1));
  clock.Advance(milliseconds(1));
  EXPECT_TRUE(b.Due());
  EXPECT_EQ(b.Failed(), milliseconds(1000));
  EXPECT_EQ(b.Failed(), milliseconds(2000));
  EXPECT_EQ(b.Failed(), milliseconds(3000));
  EXPECT_EQ(b.Failed(), milliseconds(3000));
  b.Succeeded();
  EXPECT_TRUE(b.Due());
  EXPECT_EQ(b.Failed(), milliseconds(500));
}

}  // namespace
}  // namespace infergate::mqtt

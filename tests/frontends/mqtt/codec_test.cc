// The MQTT codec's helpers: error bodies, the best-effort id scan and the
// reply parameters of a v2 request.
#include "frontends/mqtt/codec.h"

#include <gtest/gtest.h>

namespace infergate::mqtt {
namespace {

TEST(ScanTopLevelIdTest, FindsTheTopLevelIdWhenTheRestIsMalformed) {
  EXPECT_EQ(ScanTopLevelId(R"({"id":"r1","inputs":[)"), "r1");
  EXPECT_EQ(ScanTopLevelId(R"({ "inputs": [1, 2], "id" : "late" , "x": })"), "late");
  EXPECT_EQ(ScanTopLevelId(R"({"inputs":[{"name":"x","id":"inner"}],"id":"outer")"), "outer");
  EXPECT_EQ(ScanTopLevelId(R"({"parameters":{"id":"p"},"name":"id"})"), "");
  EXPECT_EQ(ScanTopLevelId(R"({"note":"a \"quoted\" id","id":"r2"})"), "r2");
}

TEST(ScanTopLevelIdTest, GivesNothingForNonStringsEscapesTruncationAndHugeIds) {
  EXPECT_EQ(ScanTopLevelId(R"({"id":42})"), "");
  EXPECT_EQ(ScanTopLevelId(R"({"id":"a\"b"})"), "");
  EXPECT_EQ(ScanTopLevelId(R"({"id":"cut)"), "");
  EXPECT_EQ(ScanTopLevelId("{not json"), "");
  EXPECT_EQ(ScanTopLevelId(""), "");
  EXPECT_EQ(ScanTopLevelId(R"(["id","x"])"), "");
  EXPECT_EQ(ScanTopLevelId("{\"id\":\"" + std::string(kMaxScannedIdBytes + 1, 'a') + "\"}"), "");
}

TEST(ScanReplyFieldsTest, FindsTheReplyParametersOfTheTopLevelParametersOnly) {
  auto f = ScanReplyFields(
      R"({"inputs":[{"parameters":{"reply_topic":"no"}}],"parameters":{"priority":1,"reply_topic":"t/1",)"
      R"("nested":{"correlation_id":"no"},"correlation_id":"c-9"},"id":"r9","inputs":[)");
  EXPECT_EQ(f.id, "r9");
  EXPECT_EQ(f.reply_topic, "t/1");
  EXPECT_EQ(f.correlation_id, "c-9");
  auto none = ScanReplyFields(R"({"reply_topic":"top","parameters":[{"reply_topic":"x"}]})");
  EXPECT_EQ(none.reply_topic, "");
}

TEST(EncodeErrorTest, AddsTheIdTheRetryHintAndTheCorrelationId) {
  EXPECT_EQ(EncodeError(core::NotFound("no")), R"({"error":"no"})");
  EXPECT_EQ(EncodeError(core::Unavailable("overloaded"), {"r1", "c-7", 250}),
            R"({"error":"overloaded","id":"r1","retry_after_ms":250,"parameters":{"correlation_id":"c-7"}})");
}

TEST(TakeReplyParametersTest, MovesTheReplyParametersOutOfTheRequest) {
  core::Parameters p = {{"reply_topic", std::string("infergate/replies/d1")},
                        {"correlation_id", std::string("c1")},
                        {"priority", int64_t{1}}};
  auto r = TakeReplyParameters(&p);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->reply_topic, "infergate/replies/d1");
  EXPECT_EQ(r->correlation_id, "c1");
  EXPECT_EQ(p.size(), 1u);
  core::Parameters bad = {{"reply_topic", int64_t{3}}};
  auto e = TakeReplyParameters(&bad);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("'reply_topic' must be a string"), std::string::npos);
}

}  // namespace
}  // namespace infergate::mqtt

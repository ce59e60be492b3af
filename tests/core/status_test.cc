#include "core/status.h"
#include "core/status_map.h"

#include <gtest/gtest.h>

namespace infergate::core {
namespace {

StatusOr<int> Half(int x) {
  if (x % 2) return InvalidArgument("odd: " + std::to_string(x));
  return x / 2;
}

Status Quarter(int x, int* out) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(*out, Half(h));
  return Status::Ok();
}

TEST(StatusTest, OkIsEmpty) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_EQ(sizeof(Status), sizeof(void*));
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  Status s = NotFound("unknown model 'x'");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.ToString(), "NOT_FOUND: unknown model 'x'");
  Status copy = s;
  EXPECT_EQ(copy, s);
  EXPECT_EQ(s.WithPrefix("load").message(), "load: unknown model 'x'");
  EXPECT_TRUE(Status::Ok().WithPrefix("x").ok());
}

TEST(StatusTest, StatusOrPropagates) {
  int out = 0;
  EXPECT_TRUE(Quarter(8, &out).ok());
  EXPECT_EQ(out, 2);
  Status s = Quarter(6, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "odd: 3");
}

TEST(StatusTest, StatusOrFromOkStatusIsAnError) {
  StatusOr<int> v(Status::Ok());
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace infergate::core

namespace infergate::core {
namespace {

TEST(StatusMapTest, EachTransportGetsItsCode) {
  EXPECT_EQ(HttpStatusFor(StatusCode::kOk), 200);
  EXPECT_EQ(HttpStatusFor(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(StatusCode::kResourceExhausted), 413);
  EXPECT_EQ(GrpcCodeFor(StatusCode::kInvalidArgument), 3);
  EXPECT_EQ(GrpcCodeFor(StatusCode::kDeadlineExceeded), 4);
  EXPECT_EQ(GrpcCodeFor(StatusCode::kNotFound), 5);
  EXPECT_EQ(GrpcCodeFor(StatusCode::kResourceExhausted), 8);
  EXPECT_EQ(GrpcCodeFor(StatusCode::kUnavailable), 14);
  EXPECT_EQ(MqttReasonCodeFor(StatusCode::kInvalidArgument), 0x99);
  EXPECT_EQ(MqttReasonCodeFor(StatusCode::kOk), 0);
  for (int c = 1; c <= static_cast<int>(StatusCode::kInternal); ++c) {
    EXPECT_GE(HttpStatusFor(static_cast<StatusCode>(c)), 400) << c;
    EXPECT_NE(GrpcCodeFor(static_cast<StatusCode>(c)), 0) << c;
    EXPECT_GE(MqttReasonCodeFor(static_cast<StatusCode>(c)), 0x80) << c;
  }
}

TEST(StatusMapTest, ReplyMessagesAreClippedOnACharacterBoundary) {
  EXPECT_EQ(ClipReplyMessage("short"), "short");
  EXPECT_EQ(ClipReplyMessage(std::string(1024, 'a')).size(), 1024u);
  const std::string clipped = ClipReplyMessage(std::string(100000, 'a'));
  EXPECT_EQ(clipped.size(), 1024u);
  EXPECT_EQ(clipped.substr(1021), "...");
  // "é" is two bytes: a cut through it backs up to its first byte.
  EXPECT_EQ(ClipReplyMessage("ab\xc3\xa9" "cde", 6), "ab...");
  EXPECT_EQ(ClipReplyMessage("abc\xc3\xa9" "de", 6), "abc...");
}

}  // namespace
}  // namespace infergate::core

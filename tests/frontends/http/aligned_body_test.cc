#include "frontends/http/aligned_body.h"

#include <gtest/gtest.h>

#include <boost/beast/http/parser.hpp>

namespace infergate::http {
namespace {

namespace bhttp = boost::beast::http;

// Parses `wire` as one request with AlignedBody.
AlignedBody::value_type Parse(const std::string& wire) {
  bhttp::request_parser<AlignedBody> parser;
  parser.eager(true);
  boost::beast::error_code ec;
  size_t used = parser.put(boost::asio::buffer(wire), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(used, wire.size());
  EXPECT_TRUE(parser.is_done());
  return parser.release().body();
}

TEST(AlignedBodyTest, BinaryDataAfterTheJsonStartsAligned) {
  for (size_t json_length = 1; json_length < 40; ++json_length) {
    const std::string body = std::string(json_length, '{') + std::string(24, 'b');
    auto v = Parse("POST /x HTTP/1.1\r\ninference-header-content-length: " +
                   std::to_string(json_length) + "\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body);
    ASSERT_EQ(v.view(), body);
    const auto binary = reinterpret_cast<uintptr_t>(v.view().data() + json_length);
    EXPECT_EQ(binary % AlignedBody::kAlignment, 0u) << json_length;
    EXPECT_GE(v.storage->capacity() - v.storage->size(), AlignedBody::kPadding);
  }
}

TEST(AlignedBodyTest, PlainAndChunkedBodies) {
  auto plain = Parse("POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(plain.view(), "hello");
  EXPECT_EQ(plain.offset, 0u);
  auto chunked = Parse(
      "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.view(), "abcde");
  auto empty = Parse("GET /x HTTP/1.1\r\n\r\n");
  EXPECT_EQ(empty.view(), "");
}

}  // namespace
}  // namespace infergate::http

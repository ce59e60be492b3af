#include "frontends/http/aligned_body.h"

#include <gtest/gtest.h>

#include <boost/beast/http/parser.hpp>
#include <cstring>
#include <span>
#include <string>

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
    EXPECT_GE(v.spare(), AlignedBody::kPadding);
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

// The connection's large-body path: the header alone, then the rest of the
// body read straight into Unfilled() and put() from there.
TEST(AlignedBodyTest, ContentLengthBodyIsFilledInPlace) {
  const std::string json = R"({"inputs":[]})";
  const std::string body = json + std::string(100, 'b');
  bhttp::request_parser<AlignedBody> parser;
  parser.eager(true);
  boost::beast::error_code ec;
  const std::string head = "POST /x HTTP/1.1\r\ninference-header-content-length: " +
                           std::to_string(json.size()) + "\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n";
  // The header and the first 3 body bytes arrive together: those are copied.
  const std::string first = head + body.substr(0, 3);
  ASSERT_EQ(parser.put(boost::asio::buffer(first), ec), first.size());
  ASSERT_FALSE(ec) << ec.message();
  AlignedBody::value_type& v = parser.get().body();
  std::span<char> rest = v.Unfilled();
  ASSERT_EQ(rest.size(), body.size() - 3);
  const char* const storage = v.storage->data();

  // The rest arrives in two reads into place; put() only counts them.
  std::memcpy(rest.data(), body.data() + 3, 50);
  EXPECT_EQ(parser.put(boost::asio::const_buffer(rest.data(), 50), ec), 50u);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_FALSE(parser.is_done());
  rest = v.Unfilled();
  ASSERT_EQ(rest.size(), body.size() - 53);
  std::memcpy(rest.data(), body.data() + 53, rest.size());
  EXPECT_EQ(parser.put(boost::asio::const_buffer(rest.data(), rest.size()), ec), rest.size());
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(parser.is_done());

  EXPECT_EQ(v.view(), body);
  EXPECT_EQ(v.storage->data(), storage) << "the storage was never reallocated";
  EXPECT_TRUE(v.Unfilled().empty());
  const auto binary = reinterpret_cast<uintptr_t>(v.view().data() + json.size());
  EXPECT_EQ(binary % AlignedBody::kAlignment, 0u);
  EXPECT_GE(v.spare(), AlignedBody::kPadding);
}

// When the header comes alone, Beast sizes the body on the next put; an
// empty put does it, so the whole body can be read into place.
TEST(AlignedBodyTest, AnEmptyPutAfterTheHeaderSizesTheBody) {
  bhttp::request_parser<AlignedBody> parser;
  parser.eager(true);
  boost::beast::error_code ec;
  const std::string head = "POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n";
  ASSERT_EQ(parser.put(boost::asio::buffer(head), ec), head.size());
  ASSERT_TRUE(parser.is_header_done());
  EXPECT_EQ(parser.get().body().storage, nullptr);
  parser.put(boost::asio::const_buffer(), ec);
  ASSERT_FALSE(ec) << ec.message();
  AlignedBody::value_type& v = parser.get().body();
  ASSERT_NE(v.storage, nullptr);
  std::span<char> rest = v.Unfilled();
  ASSERT_EQ(rest.size(), 5u);
  std::memcpy(rest.data(), "hello", 5);
  parser.put(boost::asio::const_buffer(rest.data(), rest.size()), ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(parser.is_done());
  EXPECT_EQ(v.view(), "hello");
}

TEST(AlignedBodyTest, ChunkedBodiesHaveNoPlaceToFill) {
  bhttp::request_parser<AlignedBody> parser;
  parser.eager(true);
  boost::beast::error_code ec;
  const std::string wire = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n";
  parser.put(boost::asio::buffer(wire), ec);  // the parser wants the next chunk's header
  ASSERT_TRUE(!ec || ec == bhttp::error::need_more) << ec.message();
  EXPECT_FALSE(parser.content_length_remaining());
  EXPECT_TRUE(parser.get().body().Unfilled().empty());
  EXPECT_EQ(parser.get().body().view(), "abc");
  EXPECT_GE(parser.get().body().spare(), AlignedBody::kPadding);
}

TEST(AlignedBodyTest, MoreThanTheContentLengthIsRefused) {
  bhttp::request_header<> header;
  AlignedBody::value_type v;
  AlignedBody::reader reader(header, v);
  boost::beast::error_code ec;
  reader.init(4, ec);
  ASSERT_FALSE(ec);
  const std::string bytes = "12345";
  reader.put(boost::asio::buffer(bytes), ec);
  EXPECT_EQ(ec, bhttp::error::buffer_overflow);
}

TEST(BodyBufferTest, AppendGrowsKeepingTheBytesAndTheSpareRoom) {
  BodyBuffer buffer(8);
  buffer.Append("abc", 3, 4);
  EXPECT_EQ(buffer.capacity(), 8u) << "fits: no reallocation";
  std::string more(100, 'x');
  buffer.Append(more.data(), more.size(), 64);
  EXPECT_EQ(std::string_view(buffer.data(), buffer.size()), "abc" + more);
  EXPECT_GE(buffer.capacity() - buffer.size(), 64u);
}

}  // namespace
}  // namespace infergate::http

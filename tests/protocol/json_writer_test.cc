#include "protocol/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "protocol/float16.h"

namespace infergate::protocol {
namespace {

TEST(JsonWriterTest, NestsAndSeparates) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Member("a", int64_t{1});
  w.Key("b");
  w.BeginArray();
  w.Bool(true);
  w.Null();
  w.BeginObject();
  w.EndObject();
  w.BeginArray();
  w.EndArray();
  w.Uint(18446744073709551615ull);
  w.EndArray();
  w.Member("c", "x");
  w.EndObject();
  EXPECT_EQ(out, R"({"a":1,"b":[true,null,{},[],18446744073709551615],"c":"x"})");
}

TEST(JsonWriterTest, EscapesStrings) {
  std::string out;
  JsonWriter w(&out);
  w.String(std::string_view("q\"b\\n\nt\tr\rc\x01\x1f\xc3\xa9", 15));
  EXPECT_EQ(out, "\"q\\\"b\\\\n\\nt\\tr\\rc\\u0001\\u001f\xc3\xa9\"");
}

// Whether `s` is well-formed UTF-8 (RFC 3629), checked independently of the
// writer: decode each code point and refuse overlong forms, surrogates and
// anything past U+10FFFF.
bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto lead = static_cast<unsigned char>(s[i]);
    size_t n = lead < 0x80 ? 1 : lead >> 5 == 6 ? 2 : lead >> 4 == 14 ? 3 : lead >> 3 == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? lead : lead & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if (c >> 6 != 2) return false;
      cp = cp << 6 | (c & 0x3F);
    }
    const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

std::string Escaped(std::string_view s) {
  std::string out;
  JsonWriter w(&out);
  w.String(s);
  return out;
}

// Bytes a client sent (a model or input name echoed in an error) may be any
// bytes; the reply must still be valid JSON, so each ill-formed sequence
// becomes one U+FFFD per maximal subpart.
TEST(JsonWriterTest, IllFormedUtf8BecomesReplacementCharacters) {
  const std::string kFffd = "\xef\xbf\xbd";
  struct Case {
    std::string in;
    std::string out;
  } cases[] = {
      {"a\xff" "b", "a" + kFffd + "b"},                         // never valid
      {"\x80\xbf", kFffd + kFffd},                              // lone continuation bytes
      {"x\xc3", "x" + kFffd},                                   // truncated 2-byte at the end
      {"\xe2\x82" "z", kFffd + "z"},                            // truncated 3-byte: one subpart
      {"\xf0\x9f\x98", kFffd},                                  // truncated 4-byte
      {"\xc0\xaf", kFffd + kFffd},                              // overlong '/'
      {"\xe0\x80\xaf", kFffd + kFffd + kFffd},                  // overlong 3-byte
      {"\xf0\x80\x80\xaf", kFffd + kFffd + kFffd + kFffd},      // overlong 4-byte
      {"\xed\xa0\x80", kFffd + kFffd + kFffd},                  // surrogate U+D800
      {"\xed\xbf\xbf", kFffd + kFffd + kFffd},                  // surrogate U+DFFF
      {"\xf4\x90\x80\x80", kFffd + kFffd + kFffd + kFffd},      // past U+10FFFF
      {"\xf5\x80", kFffd + kFffd},                              // lead byte past F4
      {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xed\x9f\xbf\xf4\x8f\xbf\xbf",  // valid, kept
       "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xed\x9f\xbf\xf4\x8f\xbf\xbf"},
      {"\xff\"\x01", kFffd + "\\\"\\u0001"},                    // still escapes
  };
  for (const auto& c : cases) {
    const std::string out = Escaped(c.in);
    EXPECT_EQ(out, "\"" + c.out + "\"") << "input of " << c.in.size() << " bytes";
    EXPECT_TRUE(IsValidUtf8(out)) << out;
  }
  std::string every_byte;  // every byte value, in pairs, in one string
  for (int a = 0; a < 256; ++a) {
    for (int b = 0x70; b < 0xC8; ++b) {
      every_byte.push_back(static_cast<char>(a));
      every_byte.push_back(static_cast<char>(b));
    }
  }
  EXPECT_TRUE(IsValidUtf8(Escaped(every_byte)));
}

TEST(JsonWriterTest, ShortestNumbersAndNonFinite) {
  std::string out;
  JsonWriter w(&out);
  w.BeginArray();
  w.Float(0.1f);
  w.Double(0.1);
  w.Float(-2.5f);
  w.Int(std::numeric_limits<int64_t>::min());
  w.Double(std::nan(""));
  w.Float(std::numeric_limits<float>::infinity());
  w.Double(-std::numeric_limits<double>::infinity());
  w.EndArray();
  EXPECT_EQ(out, "[0.1,0.1,-2.5,-9223372036854775808,NaN,Infinity,-Infinity]");
}

TEST(Float16Test, HalfRoundTripsAndRounds) {
  EXPECT_EQ(FloatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(FloatToHalf(-2.0f), 0xC000);
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7BFF);
  EXPECT_EQ(FloatToHalf(70000.0f), 0x7C00);  // overflow -> infinity
  EXPECT_EQ(FloatToHalf(5.960464477539063e-8f), 0x0001);  // smallest subnormal
  EXPECT_EQ(FloatToHalf(1e-9f), 0x0000);
  EXPECT_EQ(FloatToHalf(1.0f + 1.0f / 2048), 0x3C00);  // tie rounds to even
  EXPECT_EQ(FloatToHalf(1.0f + 3.0f / 2048), 0x3C02);
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(std::nanf("")))));
  for (uint32_t h = 0; h < 0x7C00; ++h) {
    ASSERT_EQ(FloatToHalf(HalfToFloat(static_cast<uint16_t>(h))), h) << h;
  }
}

TEST(Float16Test, Bf16RoundTripsAndRounds) {
  EXPECT_EQ(FloatToBf16(1.0f), 0x3F80);
  EXPECT_EQ(Bf16ToFloat(0x3F80), 1.0f);
  EXPECT_EQ(Bf16ToFloat(FloatToBf16(3.140625f)), 3.140625f);
  EXPECT_EQ(FloatToBf16(1.00390625f), 0x3F80);  // tie rounds to even
  EXPECT_TRUE(std::isnan(Bf16ToFloat(FloatToBf16(std::nanf("")))));
}

}  // namespace
}  // namespace infergate::protocol

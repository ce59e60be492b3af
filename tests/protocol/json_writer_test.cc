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

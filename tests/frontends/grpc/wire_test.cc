// The gRPC wire format: timeouts, status messages, length-prefixed messages.
#include "frontends/grpc/wire.h"

#include <gtest/gtest.h>

#include "grpc_service.pb.h"

namespace infergate::grpc_frontend {
namespace {

using std::chrono::nanoseconds;

TEST(WireTest, ParseTimeoutTakesEveryUnitAndRefusesTheRest) {
  EXPECT_EQ(ParseTimeout("1H"), nanoseconds(3600'000'000'000));
  EXPECT_EQ(ParseTimeout("2M"), nanoseconds(120'000'000'000));
  EXPECT_EQ(ParseTimeout("3S"), nanoseconds(3'000'000'000));
  EXPECT_EQ(ParseTimeout("100m"), nanoseconds(100'000'000));
  EXPECT_EQ(ParseTimeout("250u"), nanoseconds(250'000));
  EXPECT_EQ(ParseTimeout("99999999n"), nanoseconds(99'999'999));
  // The largest value the protocol allows does not overflow.
  EXPECT_EQ(ParseTimeout("99999999H"), nanoseconds(1'000'000'000'000'000'000));
  for (const char* bad : {"", "S", "10", "10s", "-1S", "1.5S", "123456789S", "1 S"}) {
    EXPECT_FALSE(ParseTimeout(bad).has_value()) << bad;
  }
}

TEST(WireTest, PercentEncodeKeepsPrintableAsciiOnly) {
  EXPECT_EQ(PercentEncode("input 'x': shape [1,15]"), "input 'x': shape [1,15]");
  EXPECT_EQ(PercentEncode("50% done\n"), "50%25 done%0A");
  EXPECT_EQ(PercentEncode("caf\xc3\xa9"), "caf%C3%A9");
}

TEST(WireTest, MessagesRoundTripAcrossAnyChunking) {
  inference::ModelInferRequest a;
  a.set_model_name("mlp");
  a.set_id("first");
  inference::ModelInferRequest b;
  b.set_model_name(std::string(300, 'm'));
  std::string wire;
  ASSERT_TRUE(AppendMessage(a, 1 << 20, &wire).ok());
  ASSERT_TRUE(AppendMessage(b, 1 << 20, &wire).ok());
  ASSERT_TRUE(AppendMessage(inference::ServerLiveRequest(), 1 << 20, &wire).ok());  // an empty message
  for (size_t chunk : {size_t{1}, size_t{3}, size_t{7}, wire.size()}) {
    MessageReader reader(1 << 20);
    std::vector<std::string> got;
    for (size_t pos = 0; pos < wire.size(); pos += chunk) {
      reader.Append(reinterpret_cast<const uint8_t*>(wire.data()) + pos, std::min(chunk, wire.size() - pos));
      std::string m;
      while (true) {
        auto next = reader.Next(&m);
        ASSERT_TRUE(next.ok()) << next.status().ToString();
        if (!*next) break;
        got.push_back(m);
      }
    }
    ASSERT_EQ(got.size(), 3u) << "chunk " << chunk;
    inference::ModelInferRequest parsed;
    ASSERT_TRUE(parsed.ParseFromString(got[0]));
    EXPECT_EQ(parsed.id(), "first");
    ASSERT_TRUE(parsed.ParseFromString(got[1]));
    EXPECT_EQ(parsed.model_name(), b.model_name());
    EXPECT_TRUE(got[2].empty());
    EXPECT_FALSE(reader.HasPartial());
  }
}

TEST(WireTest, ReaderRefusesLargeAndCompressedMessagesAndSeesPartialOnes) {
  const uint8_t large[] = {0, 0, 0, 4, 1};  // 1025 bytes announced
  MessageReader reader(1024);
  reader.Append(large, sizeof(large));
  std::string m;
  auto next = reader.Next(&m);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), core::StatusCode::kResourceExhausted);
  EXPECT_NE(next.status().message().find("1025"), std::string::npos);

  const uint8_t compressed[] = {1, 0, 0, 0, 1, 'x'};
  MessageReader gz(1024);
  gz.Append(compressed, sizeof(compressed));
  next = gz.Next(&m);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), core::StatusCode::kUnimplemented);

  const uint8_t partial[] = {0, 0, 0, 0, 9, 'a', 'b'};
  MessageReader cut(1024);
  cut.Append(partial, sizeof(partial));
  next = cut.Next(&m);
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(*next);
  EXPECT_TRUE(cut.HasPartial());
}

TEST(WireTest, AppendMessageRefusesWhatIsOverTheLimit) {
  inference::ModelInferRequest big;
  big.set_model_name(std::string(2000, 'x'));
  std::string wire = "kept";
  core::Status st = AppendMessage(big, 1024, &wire);
  EXPECT_EQ(st.code(), core::StatusCode::kResourceExhausted);
  EXPECT_EQ(wire, "kept");
}

}  // namespace
}  // namespace infergate::grpc_frontend

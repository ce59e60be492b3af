#include "core/tensor.h"

#include <gtest/gtest.h>

namespace infergate::core {
namespace {

TEST(DataTypeTest, NamesRoundTrip) {
  for (DataType t : kAllDataTypes) {
    EXPECT_EQ(DataTypeFromName(DataTypeName(t)), t);
    EXPECT_EQ(DataTypeFromName(TritonDataTypeName(t)), t);
  }
  EXPECT_EQ(DataTypeFromName("fp32"), DataType::kFp32);
  EXPECT_EQ(DataTypeFromName("STRING"), DataType::kBytes);
  EXPECT_EQ(DataTypeFromName("FLOAT"), DataType::kInvalid);
  EXPECT_EQ(ElementSize(DataType::kBf16), 2u);
  EXPECT_EQ(ElementSize(DataType::kBytes), 0u);
}

TEST(ShapeTest, ElementCountRefusesOverflowAndNegative) {
  EXPECT_EQ(ElementCount({}), 1);
  EXPECT_EQ(ElementCount({2, 3, 4}), 24);
  EXPECT_EQ(ElementCount({2, 0, 4}), 0);
  EXPECT_FALSE(ElementCount({-1, 4}).has_value());
  EXPECT_FALSE(ElementCount({1LL << 40, 1LL << 40}).has_value());
  EXPECT_TRUE(ShapeMatches({-1, 4}, {7, 4}));
  EXPECT_FALSE(ShapeMatches({-1, 4}, {7, 5}));
  EXPECT_FALSE(ShapeMatches({-1, 4}, {4}));
}

TEST(TensorTest, ValidateChecksByteCount) {
  auto t = Tensor::FromValues<float>(DataType::kFp32, {2, 2}, {1, 2, 3, 4});
  EXPECT_TRUE(t.Validate("x").ok());
  auto bad = Tensor::FromValues<float>(DataType::kFp32, {2, 3}, {1, 2, 3, 4});
  Status s = bad.Validate("input 'x'");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("input 'x'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("16 bytes were given"), std::string::npos) << s.message();
  auto huge = Tensor::FromValues<float>(DataType::kFp32, {1LL << 62, 4}, {1});
  EXPECT_FALSE(huge.Validate("x").ok());
}

TEST(TensorTest, BytesElementsAndValidation) {
  auto t = Tensor::FromStrings({"a", "", "h\xc3\xa9llo"});
  ASSERT_TRUE(t.Validate("s").ok());
  auto elems = t.StringElements();
  ASSERT_TRUE(elems.ok());
  ASSERT_EQ(elems->size(), 3u);
  EXPECT_EQ((*elems)[0], "a");
  EXPECT_EQ((*elems)[1], "");
  EXPECT_EQ((*elems)[2], "h\xc3\xa9llo");

  std::vector<uint8_t> truncated = {5, 0, 0, 0, 'a', 'b'};
  auto bad = Tensor::FromBytes(DataType::kBytes, {1}, truncated);
  Status s = bad.Validate("input 'text'");
  EXPECT_NE(s.message().find("declares 5 bytes"), std::string::npos) << s.message();
  auto extra = Tensor::FromBytes(DataType::kBytes, {1}, {1, 0, 0, 0, 'a', 'z'});
  EXPECT_FALSE(extra.Validate("x").ok());
  auto too_few = Tensor::FromBytes(DataType::kBytes, {2}, {1, 0, 0, 0, 'a'});
  EXPECT_FALSE(too_few.Validate("x").ok());
}

TEST(TensorTest, SliceRowsSharesStorage) {
  auto t = Tensor::FromValues<int32_t>(DataType::kInt32, {3, 2}, {1, 2, 3, 4, 5, 6});
  auto s = t.SliceRows(1, 3);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->shape(), (Shape{2, 2}));
  EXPECT_EQ(s->data(), t.data() + 8);
  EXPECT_EQ(s->As<int32_t>()[0], 3);
  EXPECT_FALSE(t.SliceRows(2, 4).ok());

  auto strings = Tensor::FromStrings({"ab", "c", "def", "g"}, {2, 2});
  auto row = strings.SliceRows(1, 2);
  ASSERT_TRUE(row.ok());
  auto elems = row->StringElements();
  ASSERT_TRUE(elems.ok());
  EXPECT_EQ((*elems)[0], "def");
  EXPECT_EQ((*elems)[1], "g");
}

TEST(TensorTest, ConcatRows) {
  auto a = Tensor::FromValues<float>(DataType::kFp32, {1, 2}, {1, 2});
  auto b = Tensor::FromValues<float>(DataType::kFp32, {2, 2}, {3, 4, 5, 6});
  auto c = ConcatRows({&a, &b});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->shape(), (Shape{3, 2}));
  EXPECT_EQ(c->As<float>()[4], 5);
  auto wrong = Tensor::FromValues<float>(DataType::kFp32, {1, 3}, {1, 2, 3});
  EXPECT_FALSE(ConcatRows({&a, &wrong}).ok());
}

TEST(TensorTest, BorrowKeepsOwnerAlive) {
  auto owner = std::make_shared<std::vector<float>>(std::vector<float>{1, 2});
  Tensor t = Tensor::Borrow(DataType::kFp32, {2}, owner->data(), 8, owner);
  std::weak_ptr<std::vector<float>> weak = owner;
  owner.reset();
  EXPECT_FALSE(weak.expired());
  EXPECT_EQ(t.As<float>()[1], 2);
}

}  // namespace
}  // namespace infergate::core

namespace infergate::core {
namespace {

TEST(TensorTest, BorrowIfAlignedBorrowsAlignedBytesAndCopiesTheRest) {
  auto owner = std::make_shared<std::vector<float>>(std::vector<float>{1, 2, 3, 4});
  const auto* base = reinterpret_cast<const uint8_t*>(owner->data());
  Tensor aligned = Tensor::BorrowIfAligned(DataType::kFp32, {2}, base + 4, 8, owner);
  EXPECT_EQ(aligned.data(), base + 4);  // borrowed
  EXPECT_EQ(aligned.As<float>()[1], 3.0f);
  Tensor misaligned = Tensor::BorrowIfAligned(DataType::kFp32, {1}, base + 2, 4, owner);
  EXPECT_NE(misaligned.data(), base + 2);  // a copy of the same bytes
  EXPECT_EQ(std::memcmp(misaligned.data(), base + 2, 4), 0);
  Tensor bytes = Tensor::BorrowIfAligned(DataType::kUint8, {1}, base + 3, 1, owner);
  EXPECT_EQ(bytes.data(), base + 3);  // one-byte elements are never misaligned
}

}  // namespace
}  // namespace infergate::core

#include "edge/sha256.h"

#include <gtest/gtest.h>

#include <fstream>

#include "testing/temp_dir.h"

namespace infergate::edge {
namespace {

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, FileAcrossChunks) {
  testing::TempDir dir;
  const std::string big(200000, 'x');
  auto file = dir.Write("f", big);
  auto sha = Sha256File(file);
  ASSERT_TRUE(sha.ok());
  EXPECT_EQ(*sha, Sha256Hex(big));
  EXPECT_FALSE(Sha256File(dir.path() / "missing").ok());
}

TEST(Sha256Test, CacheFollowsTheFileStamp) {
  testing::TempDir dir;
  auto file = dir.Write("f", "one");
  DigestCache cache;
  auto first = cache.Get(file);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->sha256, Sha256Hex("one"));
  EXPECT_EQ(first->size, 3u);
  // A new file renamed over it has a new inode: digested again.
  auto other = dir.Write("g", "other");
  std::filesystem::rename(other, file);
  auto second = cache.Get(file);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->sha256, Sha256Hex("other"));
  EXPECT_EQ(second->size, 5u);
}

}  // namespace
}  // namespace infergate::edge

#include "backends/onnxruntime/file_byte_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "testing/temp_dir.h"

namespace infergate::ort {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 251) & 0xFF);
  return s;
}

std::unique_ptr<FileByteSource> OpenOrDie(const std::filesystem::path& file) {
  auto opened = FileByteSource::Open(file);
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  return opened.ok() ? std::move(opened).value() : nullptr;
}

TEST(FileByteSourceTest, ReadsWhatTheFileHoldsAtAnyOffsetAndLength) {
  TempDir dir;
  const std::string content = Pattern(3 * FileByteSource::kMaxReadAhead + 12345);
  auto source = OpenOrDie(dir.Write("f.bin", content));
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->size(), content.size());
  std::mt19937 rng(3);
  std::vector<uint8_t> out;
  for (int round = 0; round < 3000; ++round) {
    // Mostly short reads following on, some jumps, some larger than the buffer.
    const size_t n = round % 97 == 0 ? FileByteSource::kMaxReadAhead + rng() % 5000 : rng() % 40;
    const uint64_t offset = rng() % (content.size() - n + 1);
    out.assign(n, 0);
    ASSERT_TRUE(source->Read(offset, n, out.data()).ok()) << offset << "+" << n;
    ASSERT_EQ(std::string(out.begin(), out.end()), content.substr(offset, n)) << offset << "+" << n;
  }
}

TEST(FileByteSourceTest, ReadsPastTheEndAreRefusedNamingTheFile) {
  TempDir dir;
  auto source = OpenOrDie(dir.Write("f.bin", Pattern(100)));
  ASSERT_NE(source, nullptr);
  uint8_t out[8];
  EXPECT_TRUE(source->Read(92, 8, out).ok());
  EXPECT_TRUE(source->Read(100, 0, out).ok());
  for (uint64_t offset : {uint64_t{93}, uint64_t{101}, UINT64_MAX - 2}) {
    core::Status status = source->Read(offset, 8, out);
    EXPECT_FALSE(status.ok()) << offset;
    EXPECT_THAT(status.message(), HasSubstr("f.bin"));
  }
}

TEST(FileByteSourceTest, AFileThatShrinksAfterOpenFailsTheReadNamingTheFile) {
  TempDir dir;
  const auto file = dir.Write("f.bin", Pattern(1 << 20));
  auto source = OpenOrDie(file);
  ASSERT_NE(source, nullptr);
  uint8_t out[16];
  ASSERT_TRUE(source->Read(0, sizeof out, out).ok());
  std::filesystem::resize_file(file, 1000);
  core::Status status = source->Read(500000, sizeof out, out);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), core::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(file.string()));
  EXPECT_THAT(status.message(), HasSubstr("shrank"));
  EXPECT_FALSE(source->CheckUnchanged().ok());
}

TEST(FileByteSourceTest, CheckUnchangedNoticesAFileRewrittenOrReplaced) {
  TempDir dir;
  const auto file = dir.Write("f.bin", Pattern(1000));
  auto source = OpenOrDie(file);
  ASSERT_NE(source, nullptr);
  EXPECT_TRUE(source->CheckUnchanged().ok());

  std::ofstream(file, std::ios::binary | std::ios::app) << "more";
  core::Status grown = source->CheckUnchanged();
  EXPECT_FALSE(grown.ok());
  EXPECT_THAT(grown.message(), HasSubstr(file.string()));

  source = OpenOrDie(file);
  ASSERT_NE(source, nullptr);
  std::filesystem::rename(dir.Write("g.bin", Pattern(1004)), file);  // same size, another file
  EXPECT_FALSE(source->CheckUnchanged().ok());

  std::filesystem::remove(file);
  EXPECT_FALSE(source->CheckUnchanged().ok());
}

TEST(FileByteSourceTest, MissingFileIsNotFoundAndADirectoryIsRefused) {
  TempDir dir;
  auto missing = FileByteSource::Open(dir.path() / "nope.onnx");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), core::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("nope.onnx"));
  auto directory = FileByteSource::Open(dir.path());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_THAT(directory.status().message(), HasSubstr(dir.path().string()));
}

}  // namespace
}  // namespace infergate::ort

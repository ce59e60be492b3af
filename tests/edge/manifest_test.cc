#include "edge/manifest.h"

#include <gtest/gtest.h>

namespace infergate::edge {
namespace {

const std::string kSha(64, 'a');

std::string File(const std::string& path, const std::string& extra = "") {
  return R"({"path": ")" + path + R"(", "size": 3, "sha256": ")" + kSha + "\"" + extra + "}";
}

std::string OneVersion(const std::string& file) {
  return R"({"format": 1, "models": [{"name": "m", "versions": [{"version": 1, "files": [)" + file + "]}]}]}";
}

TEST(ManifestTest, ParsesAndWritesBack) {
  const std::string json = R"({"format": 1, "files_url": "files/", "models": [{"name": "m", "files": [)" +
                           File("config.yaml") + R"(], "versions": [{"version": 3, "files": [)" +
                           File("model.onnx") + "," + File("data/weights.bin") + "]}]}]}";
  auto m = ParseManifest(json);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->models.size(), 1u);
  EXPECT_EQ(m->files_url, "files/");
  EXPECT_EQ(m->models[0].files[0].path, "config.yaml");
  EXPECT_EQ(m->models[0].versions[0].version, 3);
  EXPECT_EQ(m->models[0].versions[0].files[1].path, "data/weights.bin");
  EXPECT_EQ(m->models[0].versions[0].files[1].size, 3u);
  auto again = ParseManifest(ManifestJson(*m));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *m);
}

TEST(ManifestTest, RefusesBadInput) {
  const std::string nested = std::string(100, '[') + std::string(100, ']');
  for (const std::string& bad : {
           std::string("not json"), std::string("[]"), std::string("{}"), std::string(R"({"models": {}})"),
           std::string(R"({"format": 2, "models": []})"), nested,
           std::string(R"({"models": [{"name": "a/b"}]})"), std::string(R"({"models": [{"name": ".."}]})"),
           std::string(R"({"models": [{"name": ".hidden"}]})"), std::string(R"({"models": [{"name": 7}]})"),
           std::string(R"({"models": [{"name": "m"}, {"name": "m"}]})"),
           std::string(R"({"models": [{"name": "m", "versions": [{"version": 0, "files": []}]}]})"),
           std::string(R"({"models": [{"name": "m", "versions": [{"version": 1, "files": []}]}]})"),
           std::string(R"({"models": [{"name": "m", "versions": [{"version": 1.5, "files": []}]}]})"),
           OneVersion(File("model.onnx") + "," + File("model.onnx")),
           OneVersion(R"({"path": "model.onnx", "size": -1, "sha256": ")" + kSha + "\"}"),
           OneVersion(R"({"path": "model.onnx", "size": 3, "sha256": "ABC"})"),
           OneVersion(R"({"path": "model.onnx", "size": 3, "sha256": ")" + std::string(64, 'A') + "\"}"),
           OneVersion(R"({"path": "model.onnx", "size": "3", "sha256": ")" + kSha + "\"}"),
       }) {
    EXPECT_FALSE(ParseManifest(bad).ok()) << bad;
  }
}

TEST(ManifestTest, PathTraversalIsRefused) {
  for (const char* path : {"../model.onnx", "a/../../etc/passwd", "/etc/passwd", "a//b", ".hidden",
                                  "a/.git/config", "./model.onnx", "a\\\\b", "a/", ""}) {
    auto m = ParseManifest(OneVersion(File(path)));
    ASSERT_FALSE(m.ok()) << path;
    EXPECT_NE(m.status().message().find("model 'm' version 1"), std::string::npos) << m.status().message();
  }
  EXPECT_FALSE(ValidateFilePath("a/b/c/d/e/f/g/h/i", false).ok());
  EXPECT_FALSE(ValidateFilePath(std::string("a\0b", 3), false).ok());
  EXPECT_TRUE(ValidateFilePath("sub/model.onnx", false).ok());
  // A model file cannot land in a version folder.
  EXPECT_FALSE(ValidateFilePath("3/model.onnx", true).ok());
  EXPECT_TRUE(ValidateFilePath("config.yaml", true).ok());
}

TEST(ManifestTest, ResolvesUrls) {
  EXPECT_EQ(ResolveUrl("http://h:1/fleet/manifest.json", ""), "http://h:1/fleet/");
  EXPECT_EQ(ResolveUrl("http://h:1/v2/repository/manifest", "files/"), "http://h:1/v2/repository/files/");
  EXPECT_EQ(ResolveUrl("http://h:1/a/b", "/c/"), "http://h:1/c/");
  EXPECT_EQ(ResolveUrl("http://h:1/a/b", "https://cdn/x/"), "https://cdn/x/");
  EXPECT_EQ(ResolveUrl("http://h:1", "x/"), "http://h:1/x/");
  EXPECT_EQ(EncodePath("a b/c%d.onnx"), "a%20b/c%25d.onnx");
}

}  // namespace
}  // namespace infergate::edge
